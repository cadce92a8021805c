/**
 * Walks the hub's pairing page as one browser with plain `fetch`: enters the code, presses Continue
 * on the confirmation page, and keeps the pairing cookie for the answer that comes back.
 */
export interface PairingPass {
  /** The provider's authorization URL Continue redirected to. */
  authorizeUrl: string;
  /** The `cookie` header this browser sends to the callback. */
  cookie: string;
  /** The pairing cookie's value (a secret: it must never show up anywhere else). */
  browserKey: string;
  /** The bodies and Location the hub answered with on the way. */
  answers: string[];
}

export async function passPairingPage(base: string, userCode: string, root = '/'): Promise<PairingPass> {
  const form = (fields: Record<string, string>, cookie?: string): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
    body: new URLSearchParams(fields),
    redirect: 'manual',
  });
  const confirm = await fetch(`${base}${root}link`, form({ user_code: userCode }));
  const page = await confirm.text();
  if (confirm.status !== 200) throw new Error(`the code was not accepted (HTTP ${confirm.status})`);
  const pair = confirm.headers.getSetCookie()[0]?.split(';')[0] ?? '';
  const attempt = /name="attempt" value="([^"]+)"/.exec(page)?.[1];
  if (!pair || !attempt) throw new Error('no pairing cookie or no Continue form on the confirmation page');
  const continued = await fetch(`${base}${root}link/continue`, form({ attempt }, pair));
  await continued.body?.cancel();
  const authorizeUrl = continued.headers.get('location');
  if (continued.status !== 303 || !authorizeUrl) throw new Error(`Continue did not lead to the provider (HTTP ${continued.status})`);
  return { authorizeUrl, cookie: pair, browserKey: pair.slice(pair.indexOf('=') + 1), answers: [page, authorizeUrl] };
}
