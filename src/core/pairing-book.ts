import type * as oauth from 'openid-client';
import type { Clock } from './clock.js';
import { codeExpired, type LinkError } from './errors.js';
import { CODE_LIFETIME_MS, randomCode, type CodeStyle } from './pairing-codes.js';
import type { PairingAttempt } from './pairing-types.js';
import { browserKeyMatches } from './signed-state.js';

/** Why a code is no longer valid, kept so the page can say so. */
export type RetiredReason = 'used' | 'expired' | 'cancelled';

/**
 * The pairing attempts in memory: by id and by waiting code, the codes no longer valid, each
 * attempt's one timer, and the one way an attempt ends.
 */
export class PairingBook {
  private readonly attempts = new Map<string, PairingAttempt>();
  private readonly byCode = new Map<string, PairingAttempt>();
  /** Codes no longer valid, kept until they would have expired, so the page can say why. */
  private readonly retired = new Map<string, { reason: RetiredReason; until: number }>();

  constructor(private readonly clock: Clock) {}

  /** Codes waiting to be entered or sign-ins waiting to come back. */
  get size(): number {
    return this.attempts.size;
  }

  /** Keeps a new attempt, its code waiting, and arms its timer. */
  add(attempt: PairingAttempt): void {
    this.attempts.set(attempt.id, attempt);
    this.byCode.set(attempt.code, attempt);
    attempt.signal.addEventListener('abort', attempt.onAbort, { once: true });
    this.arm(attempt);
  }

  get(id: string): PairingAttempt | undefined {
    return this.attempts.get(id);
  }

  has(attempt: PairingAttempt): boolean {
    return this.attempts.get(attempt.id) === attempt;
  }

  /** The attempt whose code is `code` and still waiting to be entered. */
  waiting(code: string): PairingAttempt | undefined {
    return this.byCode.get(code);
  }

  /** Every attempt whose code is still waiting. */
  allWaiting(): PairingAttempt[] {
    return [...this.byCode.values()];
  }

  /** Why `code` is no longer valid, if it was one recently. */
  retiredReason(code: string): RetiredReason | undefined {
    const now = this.clock.now();
    for (const [old, entry] of this.retired) if (entry.until <= now) this.retired.delete(old);
    return this.retired.get(code)?.reason;
  }

  /** The code was entered: it is gone for everyone, whatever happens next. */
  useCode(attempt: PairingAttempt): void {
    if (this.byCode.get(attempt.code) === attempt) this.byCode.delete(attempt.code);
    this.retire(attempt.code, 'used', attempt.expiresAt);
  }

  /**
   * The newest live attempt, past its code, that the browser holding `browserKey` entered
   * (optionally: the one with `code`).
   */
  boundTo(browserKey: string | null, code?: string): PairingAttempt | undefined {
    let found: PairingAttempt | undefined;
    for (const attempt of this.attempts.values()) {
      if (attempt.status === 'waiting' || (code !== undefined && attempt.code !== code)) continue;
      if (!browserKeyMatches(browserKey, attempt.browserHash)) continue;
      if (!found || attempt.createdAt > found.createdAt) found = attempt;
    }
    return found;
  }

  /** (Re)arms the attempt's one timer for its deadline. */
  arm(attempt: PairingAttempt): void {
    if (attempt.timer) attempt.clock.clearTimer(attempt.timer);
    attempt.timer = attempt.clock.setTimer(Math.max(0, attempt.deadline - attempt.clock.now()), () => {
      attempt.timer = undefined;
      if (attempt.status === 'exchanging') return;
      const waiting = attempt.status === 'waiting';
      attempt.log(waiting ? 'the pairing code expired' : 'the sign-in did not come back in time');
      // A person who saw the provider refuse and did not try again ends with that refusal.
      this.end(attempt, 'expired', waiting ? codeExpired() : (attempt.lastError ?? codeExpired()));
    });
  }

  /** Forgets an attempt and settles its tokens promise (with `tokens`, or `error` when given). */
  end(attempt: PairingAttempt, retireAs: RetiredReason | null, error: LinkError | null, tokens?: oauth.TokenEndpointResponse): void {
    if (!this.attempts.delete(attempt.id)) return;
    if (this.byCode.get(attempt.code) === attempt) this.byCode.delete(attempt.code);
    if (retireAs && !this.retired.has(attempt.code)) this.retire(attempt.code, retireAs, attempt.expiresAt);
    if (attempt.timer) attempt.clock.clearTimer(attempt.timer);
    attempt.timer = undefined;
    attempt.signal.removeEventListener('abort', attempt.onAbort);
    attempt.verifier = null;
    if (tokens) attempt.resolve(tokens);
    else attempt.reject(error ?? codeExpired());
  }

  /** A code no attempt waits for and none recently used. */
  uniqueCode(style?: CodeStyle): string {
    for (;;) {
      const code = randomCode(style);
      if (!this.byCode.has(code) && !this.retired.has(code)) return code;
    }
  }

  private retire(code: string, reason: RetiredReason, until: number): void {
    this.retired.set(code, { reason, until: Math.max(until, this.clock.now()) + CODE_LIFETIME_MS });
  }
}
