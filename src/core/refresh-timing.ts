import type { ExpiryModel } from './profiles/index.js';
import type { TokenSet } from './store.js';

/** An access token this close to expiry is not handed out. */
export const EXPIRY_SKEW_MS = 30_000;
/** Refresh this long before expiry, as a share of the token's lifetime (plus up to half as much jitter). */
const REFRESH_LEAD_SHARE = 0.1;
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 10 * 60_000;
/** A refresh someone asks for this soon after the last token call is answered without a call. */
export const REQUEST_SPACING_MS = 10_000;
/** An unexpected `invalid_grant` is asked once more after this, unless the provider named a wait. */
export const CONFIRM_DELAY_MS = 30_000;
/** The longest wait a provider's Retry-After may impose on that confirmation. */
const CONFIRM_MAX_MS = 60 * 60_000;
/** Under the `inactivity` model, refresh at least this often, as a share of the idle limit. */
const KEEP_ALIVE_SHARE = 1 / 3;

/** True while the access token may still be handed out. */
export function isFresh(tokens: TokenSet, now: number): boolean {
  return tokens.expiresAt === null || now < tokens.expiresAt - EXPIRY_SKEW_MS;
}

/**
 * When one link's tokens need attention: the next refresh (early, jittered, and at least every
 * keep-alive period), retries spaced by back-off after failures, the confirmation of an
 * unexpected `invalid_grant`, and how close together refreshes people ask for may come. Holds
 * only times and counts; the Link acts on them.
 */
export class RefreshTiming {
  /** Refreshes failed in a row. */
  failures = 0;
  /** No refresh before this (epoch ms): the back-off, the provider's Retry-After, or the confirmation's delay. */
  retryNotBefore = 0;
  /** True while an `invalid_grant` waits to be confirmed by one more try with the same refresh token. */
  confirming = false;
  /** Epoch ms of the last refresh request to the provider, or 0. */
  private lastCallAt = 0;
  /** The jittered refresh time chosen by the last `nextWake`, not re-rolled on waking. */
  private plannedRefreshAt: number | null = null;
  private readonly keepAliveMs: number | null;

  constructor(
    private readonly random: () => number,
    expiry: ExpiryModel,
  ) {
    this.keepAliveMs = expiry.kind === 'inactivity' ? expiry.idleMs * KEEP_ALIVE_SHARE : null;
  }

  /** A refresh succeeded: no back-off and nothing to confirm any more. */
  succeeded(): void {
    this.failures = 0;
    this.retryNotBefore = 0;
    this.confirming = false;
  }

  /** A new grant (linked, or revoked): forget everything about the old one. */
  restart(): void {
    this.succeeded();
  }

  /** A refresh request is going to the provider now. */
  calling(now: number): void {
    this.lastCallAt = now;
  }

  /** True when the provider was last asked for tokens (refresh or linking) less than REQUEST_SPACING_MS ago. */
  recentlyCalled(tokens: TokenSet, now: number): boolean {
    return now - Math.max(this.lastCallAt, tokens.obtainedAt) < REQUEST_SPACING_MS;
  }

  /** A refresh failed: the wait before the next, at least what the provider asked for. */
  failed(now: number, retryAfterMs: number | undefined): number {
    this.failures++;
    const backoff = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1)) * (1 + this.random() * 0.2);
    const delay = Math.max(backoff, retryAfterMs ?? 0);
    this.retryNotBefore = now + delay;
    return delay;
  }

  /** An unexpected `invalid_grant`: one more try after the provider's Retry-After, or CONFIRM_DELAY_MS. */
  awaitConfirmation(now: number, retryAfterMs: number | undefined): number {
    this.failures++;
    this.confirming = true;
    const delay = Math.min(CONFIRM_MAX_MS, retryAfterMs ?? CONFIRM_DELAY_MS);
    this.retryNotBefore = now + delay;
    return delay;
  }

  /** True while back-off forbids asking the provider. */
  backingOff(now: number): boolean {
    return now < this.retryNotBefore;
  }

  /**
   * The earliest moment something is due for these tokens, or null when nothing ever is.
   * `warningAt` is when the next relink warning falls due, if one will.
   */
  nextWake(tokens: TokenSet, now: number, warningAt: number | null): number | null {
    const due: number[] = [];
    if (tokens.refreshExpiresAt !== null) due.push(tokens.refreshExpiresAt);
    if (warningAt !== null) due.push(warningAt);
    this.plannedRefreshAt = this.plan(tokens);
    if (this.confirming) due.push(this.retryNotBefore);
    else if (this.plannedRefreshAt !== null) due.push(Math.max(this.plannedRefreshAt, this.retryNotBefore));
    // While refreshes fail, turn to `error` when the token goes out of use, not at the next
    // retry, which may be minutes later.
    if (this.failures > 0 && tokens.expiresAt !== null && isFresh(tokens, now)) due.push(tokens.expiresAt - EXPIRY_SKEW_MS);
    return due.length === 0 ? null : Math.min(...due);
  }

  /** True once the planned refresh (or a confirmation) is due and no back-off forbids it. */
  refreshDue(now: number): boolean {
    if (this.backingOff(now)) return false;
    return this.confirming || (this.plannedRefreshAt !== null && now >= this.plannedRefreshAt);
  }

  /** The next refresh: before the access token expires, and within the keep-alive period. */
  private plan(tokens: TokenSet): number | null {
    const times: number[] = [];
    if (tokens.expiresAt !== null) {
      const lifetime = Math.max(0, tokens.expiresAt - tokens.obtainedAt);
      times.push(tokens.expiresAt - lifetime * REFRESH_LEAD_SHARE * (1 + this.random() * 0.5));
    }
    if (this.keepAliveMs !== null && tokens.refreshToken !== null) times.push(tokens.obtainedAt + this.keepAliveMs);
    return times.length === 0 ? null : Math.min(...times);
  }
}
