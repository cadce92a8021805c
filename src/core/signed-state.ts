import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** What a signed `state` carries: the attempt, a nonce, and the hub's callback address (for the relay page). */
export interface StateClaims {
  a: string;
  n: string;
  h: string;
}

const MAX_STATE_LENGTH = 2048;

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
      if (claims.v !== 1 || typeof claims.a !== 'string' || typeof claims.h !== 'string') return null;
      return { a: claims.a, n: String(claims.n ?? ''), h: claims.h };
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
