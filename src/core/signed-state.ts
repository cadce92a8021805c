import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * What a signed `state` carries: the attempt, a nonce, the hub's callback address (for the relay
 * page) and the hash of the browser key of the browser that entered the code.
 */
export interface StateClaims {
  a: string;
  n: string;
  h: string;
  b: string;
}

const MAX_STATE_LENGTH = 2048;
const BROWSER_KEY_SHAPE = /^[A-Za-z0-9_-]{43}$/;

/**
 * HMAC-signed OAuth `state` values: `<base64url JSON>.<base64url MAC>`. The claims are readable
 * (the relay page reads `h`), never secret; only the MAC makes them trustworthy.
 */
export class StateSigner {
  constructor(private readonly key: Uint8Array = randomBytes(32)) {}

  sign(claims: Omit<StateClaims, 'n'>): string {
    const payload = Buffer.from(JSON.stringify({ v: 1, ...claims, n: randomBytes(12).toString('base64url') })).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  /** The claims of a state this signer made, or null for anything else. */
  verify(state: string): StateClaims | null {
    if (state.length > MAX_STATE_LENGTH) return null;
    const [payload, mac, extra] = state.split('.');
    if (!payload || !mac || extra !== undefined) return null;
    if (!sameText(this.mac(payload), mac)) return null;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<StateClaims> & { v?: unknown };
      if (claims.v !== 1 || typeof claims.a !== 'string' || typeof claims.h !== 'string' || typeof claims.b !== 'string') return null;
      return { a: claims.a, n: String(claims.n ?? ''), h: claims.h, b: claims.b };
    } catch {
      return null;
    }
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}

/** Compares in constant time, so a MAC or state cannot be guessed byte by byte. */
export function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * A new browser key: 32 random bytes, the value of the pairing cookie of the browser that entered
 * a code. Only its hash is kept (in the attempt and in the signed state).
 */
export function newBrowserKey(): string {
  return randomBytes(32).toString('base64url');
}

/** The hash of a browser key as the attempt and the state carry it; null for anything not shaped like a key. */
export function browserKeyHash(key: string | null | undefined): string | null {
  if (typeof key !== 'string' || !BROWSER_KEY_SHAPE.test(key)) return null;
  return createHash('sha256').update(key).digest('base64url');
}

/** True when `key` is the browser key whose hash is `hash`. */
export function browserKeyMatches(key: string | null | undefined, hash: string | null | undefined): boolean {
  const actual = browserKeyHash(key);
  return actual !== null && typeof hash === 'string' && sameText(actual, hash);
}
