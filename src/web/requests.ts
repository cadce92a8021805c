import type { IncomingMessage } from 'node:http';
import type { PairingClient } from '../core/index.js';

/**
 * What the pairing page reads from a request: headers, query, the urlencoded form, the client's
 * address, the pairing cookie, and whether a POST came from another site.
 */

/** The pairing cookie: the browser key of the browser that entered a code (HttpOnly, SameSite=Lax). */
export const PAIRING_COOKIE = 'account_link_pairing';
/** As long as a code plus its sign-in can last (10 + 10 minutes), and a little more. */
const PAIRING_COOKIE_MAX_AGE_S = 25 * 60;
const MAX_FORM_BYTES = 8 * 1024;
const HOST_SHAPE = /^[a-zA-Z0-9.\-:[\]]{1,255}$/;

export function headerValue(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function queryOf(req: IncomingMessage): URLSearchParams {
  const url = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? '';
  const at = url.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : url.slice(at + 1));
}

/** True for https: Express's `req.secure` (honours `trust proxy`), else the socket's own TLS. */
export function isSecure(req: IncomingMessage): boolean {
  const secure = (req as IncomingMessage & { secure?: unknown }).secure;
  return typeof secure === 'boolean' ? secure : Boolean((req.socket as { encrypted?: boolean }).encrypted);
}

/** `http(s)://<Host header>` as the browser used it; null when the Host header looks odd. */
export function requestOrigin(req: IncomingMessage): string | null {
  const host = headerValue(req, 'host') ?? '';
  return HOST_SHAPE.test(host) ? `${isSecure(req) ? 'https' : 'http'}://${host}` : null;
}

/** The browser behind a request, as the coordinator sees it. */
export function pairingClient(req: IncomingMessage): PairingClient {
  return { address: clientAddress(req), browserKey: browserKeyOf(req), origin: requestOrigin(req) };
}

/** The client's address for the per-address limit: Express's `req.ip` (honours `trust proxy`), else the socket's. */
function clientAddress(req: IncomingMessage): string {
  const ip = (req as IncomingMessage & { ip?: unknown }).ip;
  return typeof ip === 'string' && ip ? ip : (req.socket.remoteAddress ?? 'unknown');
}

/** The pairing cookie's value, or null. */
function browserKeyOf(req: IncomingMessage): string | null {
  for (const part of (headerValue(req, 'cookie') ?? '').slice(0, 8192).split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === PAIRING_COOKIE) return part.slice(at + 1).trim() || null;
  }
  return null;
}

/**
 * The Set-Cookie value that binds this browser: only sent back to the page's own paths, never
 * readable by scripts, not sent on cross-site POSTs, Secure when the page is https.
 */
export function pairingCookie(browserKey: string, path: string, secure: boolean): string {
  return `${PAIRING_COOKIE}=${browserKey}; Path=${path}; Max-Age=${PAIRING_COOKIE_MAX_AGE_S}; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}

/**
 * True for a POST another site made the browser send. Browsers send `Sec-Fetch-Site` to https and
 * loopback pages: only `same-origin` (and `none`, a person's own action) pass. Elsewhere (a plain
 * http hub on the LAN) the `Origin` must name this host; an opaque `Origin: null` (a page that
 * hides where it is) is refused too, since this page's own forms send their origin (its referrer
 * policy is `same-origin`). A request with neither header is no browser's cross-site POST.
 */
export function crossSitePost(req: IncomingMessage): boolean {
  const site = headerValue(req, 'sec-fetch-site');
  if (site) return site !== 'same-origin' && site !== 'none';
  const origin = headerValue(req, 'origin');
  if (origin === undefined) return false;
  let host: string;
  try {
    host = new URL(origin).host.toLowerCase();
  } catch {
    return true;
  }
  const own = [headerValue(req, 'host'), headerValue(req, 'x-forwarded-host')?.split(',')[0]];
  return !host || !own.some((value) => value?.trim().toLowerCase() === host);
}

/**
 * The urlencoded form of a POST. Uses a body an earlier middleware already parsed; otherwise reads
 * at most MAX_FORM_BYTES. Null when the body is too large.
 */
export async function readForm(req: IncomingMessage): Promise<URLSearchParams | null> {
  const parsed = (req as IncomingMessage & { body?: unknown }).body;
  if (typeof parsed === 'string') return new URLSearchParams(parsed.slice(0, MAX_FORM_BYTES));
  if (parsed && typeof parsed === 'object' && !Buffer.isBuffer(parsed) && Object.keys(parsed).length > 0) {
    const form = new URLSearchParams();
    for (const [name, value] of Object.entries(parsed as Record<string, unknown>)) {
      if (typeof value === 'string') form.set(name, value);
    }
    return form;
  }
  if (req.readableEnded) return new URLSearchParams();
  const type = headerValue(req, 'content-type') ?? '';
  const declared = Number(headerValue(req, 'content-length'));
  if (Number.isFinite(declared) && declared > MAX_FORM_BYTES) {
    req.resume();
    return null;
  }
  const body = await new Promise<Buffer | null>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total <= MAX_FORM_BYTES) {
        chunks.push(chunk);
        return;
      }
      // Too large: answer now and let the rest drain unread.
      req.off('data', onData);
      req.resume();
      resolve(null);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
  if (!body) return null;
  if (!/^application\/x-www-form-urlencoded\b/i.test(type)) return new URLSearchParams();
  return new URLSearchParams(body.toString('utf8'));
}
