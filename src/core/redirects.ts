/**
 * Addresses the pairing page and the providers' redirect rules are built from. Pure string work:
 * no network, no Node-RED.
 */

/** Adds the leading and trailing slash Node-RED's `httpNodeRoot` may lack. */
export function normalizeRoot(root: string | undefined): string {
  const trimmed = (root ?? '/').trim();
  return `/${trimmed.replace(/^\/+|\/+$/g, '')}/`.replace(/^\/\/$/, '/');
}

/** `<publicUrl><httpNodeRoot>link/callback`: where the provider sends the person back by default. */
export function defaultRedirectUri(publicUrl: string, httpNodeRoot = '/'): string {
  return `${publicUrl.trim().replace(/\/+$/, '')}${normalizeRoot(httpNodeRoot)}link/callback`;
}

/** `<publicUrl><httpNodeRoot>link`: the page people open (the snapshot's `verification_uri`). */
export function pairingPageUrl(publicUrl: string, httpNodeRoot = '/'): string {
  return `${publicUrl.trim().replace(/\/+$/, '')}${normalizeRoot(httpNodeRoot)}link`;
}

/** `http://127.0.0.1:<port><httpNodeRoot>link/callback`: the redirect URI for a hub without https. */
export function loopbackRedirectUri(port: number | string, httpNodeRoot = '/'): string {
  return `http://127.0.0.1:${port}${normalizeRoot(httpNodeRoot)}link/callback`;
}

/** The loopback redirect URI on the same port as `redirectUri` (1880 when it names none). */
export function suggestedLoopbackRedirect(redirectUri: string, httpNodeRoot = '/'): string {
  let port = '1880';
  try {
    port = new URL(redirectUri).port || port;
  } catch {
    // keep Node-RED's default port
  }
  return loopbackRedirectUri(port, httpNodeRoot);
}

/** An explicit loopback IP (`127.x.y.z`, `::1`), as some providers require; `localhost` is not one. */
export function isLoopbackIp(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '');
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1';
}

/** `http://127.0.0.1:…`, `http://[::1]:…` or `http://localhost:…`: an address a phone cannot open. */
export function isLoopbackRedirect(uri: string): boolean {
  try {
    const host = new URL(uri).hostname;
    return isLoopbackIp(host) || host === 'localhost';
  } catch {
    return false;
  }
}

/** The query of a pasted address (full URL, `?query`, or bare query). */
export function responseFromPastedAddress(pasted: string): URLSearchParams {
  const text = String(pasted ?? '').trim().slice(0, 4096);
  try {
    const url = new URL(text);
    const params = new URLSearchParams(url.search);
    // Some providers answer in the fragment (response_mode=fragment); accept it too.
    if (!params.has('state') && url.hash.length > 1) return new URLSearchParams(url.hash.slice(1));
    return params;
  } catch {
    const query = text.includes('?') ? text.slice(text.indexOf('?') + 1) : text;
    return new URLSearchParams(query.split('#')[0]);
  }
}

/** `http://host:port` of a web address, or null when it is none (only http and https count). */
export function webOrigin(value: string | null | undefined): string | null {
  try {
    const url = new URL(String(value ?? ''));
    return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : null;
  } catch {
    return null;
  }
}

/**
 * Where to send a browser on the hub itself that came back from the provider without the pairing
 * cookie: a loopback redirect URI answered on one loopback name (`localhost`) while the code was
 * entered on another (`127.0.0.1`, or the hub's LAN address). Cookies belong to a host name, so
 * the same browser has its cookie only there. Null when that is not the case.
 */
export function loopbackHandOver(redirectUri: string, enteredAt: string | null, arrivedAt: string | null): string | null {
  const entered = webOrigin(enteredAt);
  const arrived = webOrigin(arrivedAt);
  if (!entered || !arrived || !isLoopbackRedirect(redirectUri) || !isLoopbackRedirect(arrived)) return null;
  return new URL(entered).hostname === new URL(arrived).hostname ? null : entered;
}
