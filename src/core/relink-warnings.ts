import { DAY_MS } from './profiles/profile.js';
import type { TokenSet } from './store.js';

/** Days before `refresh_expires_at` of the first `relink_soon` warning, unless the link sets its own. */
export const DEFAULT_RELINK_LEAD_DAYS = 14;

/** The warnings already sent for one horizon, as the store keeps them. */
export interface RelinkWarnings {
  /** The `refresh_expires_at` (epoch ms) they were sent for. */
  horizon: number;
  /** The rungs sent, in days before it. */
  days: number[];
}

/** A horizon that moved later by more than this is a new one; a restated date only wobbles by seconds. */
const SAME_HORIZON_MS = DAY_MS;

/** A warning due now: how many days are left, and what to store so it is never sent again. */
export interface DueWarning {
  daysLeft: number;
  record: RelinkWarnings;
}

/** Whole days left until `horizon`, rounded up: "ends in 3 days" means within 3 days. */
export function daysLeft(horizon: number, now: number): number {
  return Math.max(0, Math.ceil((horizon - now) / DAY_MS));
}

/**
 * The warning ladder: `relink_soon` at the lead (14 days by default), 3 days and 1 day before the
 * date a link needs a person again. A rung counts only inside the lifetime the provider last gave
 * (`refresh_expires_at` minus the time of the last token response): a horizon that every refresh
 * pushes ahead (Microsoft's 90 idle days, Keycloak's idle session) never comes that close while
 * refreshes work, so it warns only when they stop. Rungs passed together (a hub that was off) go
 * out as one warning.
 */
export class RelinkLadder {
  /** Rungs in days, largest first. */
  readonly days: readonly number[];

  constructor(leadDays: number = DEFAULT_RELINK_LEAD_DAYS) {
    const lead = Number.isFinite(leadDays) ? Math.max(0, Math.floor(leadDays)) : DEFAULT_RELINK_LEAD_DAYS;
    this.days = [...new Set([lead, 3, 1])].filter((day) => day > 0 && day <= lead).sort((a, b) => b - a);
  }

  /** The rungs already sent for the current horizon. */
  sent(tokens: TokenSet, record: RelinkWarnings | null | undefined): readonly number[] {
    const horizon = tokens.refreshExpiresAt;
    if (horizon === null || !record || horizon > record.horizon + SAME_HORIZON_MS) return [];
    return record.days;
  }

  /** When the next unsent warning falls due (epoch ms), or null when none will. */
  nextAt(tokens: TokenSet, record: RelinkWarnings | null | undefined): number | null {
    const horizon = tokens.refreshExpiresAt;
    const waiting = this.unsent(tokens, record);
    return horizon === null || waiting.length === 0 ? null : horizon - waiting[0]! * DAY_MS;
  }

  /** The warning due at `now`, or null. */
  take(tokens: TokenSet, record: RelinkWarnings | null | undefined, now: number): DueWarning | null {
    const horizon = tokens.refreshExpiresAt;
    if (horizon === null || now >= horizon) return null;
    const due = this.unsent(tokens, record).filter((day) => now >= horizon - day * DAY_MS);
    if (due.length === 0) return null;
    const sent = this.sent(tokens, record);
    const keptHorizon = sent.length > 0 && record ? record.horizon : horizon;
    return { daysLeft: daysLeft(horizon, now), record: { horizon: keptHorizon, days: [...sent, ...due] } };
  }

  private unsent(tokens: TokenSet, record: RelinkWarnings | null | undefined): number[] {
    const horizon = tokens.refreshExpiresAt;
    if (horizon === null) return [];
    const lifetime = horizon - tokens.obtainedAt;
    const sent = this.sent(tokens, record);
    return this.days.filter((day) => day * DAY_MS <= lifetime && !sent.includes(day));
  }
}
