import type { TokenSet } from './store.js';

/** An access token this close to expiry is not handed out. */
export const EXPIRY_SKEW_MS = 30_000;
/** Refresh this long before expiry, as a share of the token's lifetime (plus up to half as much jitter). */
const REFRESH_LEAD_SHARE = 0.1;
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 10 * 60_000;
const RELINK_SOON_MS = 14 * 24 * 60 * 60 * 1000;

/** True while the access token may still be handed out. */
export function isFresh(tokens: TokenSet, now: number): boolean {
  return tokens.expiresAt === null || now < tokens.expiresAt - EXPIRY_SKEW_MS;
}

/**
 * When one link's tokens need attention: the next refresh (early, jittered), retries spaced by
 * back-off after failures, the relink warning and the end of the grant. Holds only times and
 * counts; the Link acts on them.
 */
export class RefreshTiming {
  /** Refreshes failed in a row. */
  failures = 0;
  /** No refresh before this (epoch ms): the back-off or the provider's Retry-After. */
  retryNotBefore = 0;
  private relinkSoonAnnounced = false;
  /** The jittered refresh time chosen by the last `nextWake`, not re-rolled on waking. */
  private plannedRefreshAt: number | undefined;

  constructor(private readonly random: () => number) {}

  /** A refresh succeeded: no back-off any more. */
  succeeded(): void {
    this.failures = 0;
    this.retryNotBefore = 0;
  }

  /** A new grant (linked, or revoked): forget everything about the old one. */
  restart(): void {
    this.succeeded();
    this.relinkSoonAnnounced = false;
  }

  /** A refresh failed: the wait before the next, at least what the provider asked for. */
  failed(now: number, retryAfterMs: number | undefined): number {
    this.failures++;
    const backoff = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1)) * (1 + this.random() * 0.2);
    const delay = Math.max(backoff, retryAfterMs ?? 0);
    this.retryNotBefore = now + delay;
    return delay;
  }

  /** True while back-off forbids asking the provider. */
  backingOff(now: number): boolean {
    return now < this.retryNotBefore;
  }

  /** The earliest moment something is due for these tokens, or null when nothing ever is. */
  nextWake(tokens: TokenSet, now: number): number | null {
    const due: number[] = [];
    if (tokens.refreshExpiresAt !== null) {
      due.push(tokens.refreshExpiresAt);
      if (!this.relinkSoonAnnounced) due.push(tokens.refreshExpiresAt - RELINK_SOON_MS);
    }
    if (tokens.expiresAt !== null) {
      const lifetime = Math.max(0, tokens.expiresAt - tokens.obtainedAt);
      this.plannedRefreshAt = tokens.expiresAt - lifetime * REFRESH_LEAD_SHARE * (1 + this.random() * 0.5);
      due.push(Math.max(this.plannedRefreshAt, this.retryNotBefore));
      // While refreshes fail, turn to `error` when the token goes out of use, not at the next
      // retry, which may be minutes later.
      if (this.failures > 0 && isFresh(tokens, now)) due.push(tokens.expiresAt - EXPIRY_SKEW_MS);
    }
    return due.length === 0 ? null : Math.min(...due);
  }

  /** True once the planned refresh time has come and no back-off forbids it. */
  refreshDue(tokens: TokenSet, now: number): boolean {
    return tokens.expiresAt !== null && now >= (this.plannedRefreshAt ?? 0) && !this.backingOff(now);
  }

  /** True, once per grant, when the relink warning is due. */
  takeRelinkWarning(tokens: TokenSet, now: number): boolean {
    if (tokens.refreshExpiresAt === null || this.relinkSoonAnnounced || now < tokens.refreshExpiresAt - RELINK_SOON_MS) return false;
    this.relinkSoonAnnounced = true;
    return true;
  }
}
