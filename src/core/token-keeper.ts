import { EventEmitter } from 'node:events';
import type * as oauth from 'openid-client';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { LinkError, toLinkError } from './errors.js';
import { parseRetryAfter } from './http.js';
import type { EventBody, LinkOptions } from './link-types.js';
import { silentLogger, type Logger } from './logger.js';
import { profileFor, type ExpiryModel } from './profiles/index.js';
import { DAY_MS } from './profiles/profile.js';
import type { Provider } from './providers.js';
import { daysLeft, RelinkLadder } from './relink-warnings.js';
import { isFresh, RefreshTiming } from './refresh-timing.js';
import { englishRelinkPrompt, iso, type LinkEvent, type LinkState, type RelinkPromptFormatter, type Snapshot } from './snapshot.js';
import type { StoredLink, TokenSet } from './store.js';
import { toTokenSet } from './token-set.js';
import { openidClient } from './on-first-use.js';

/** Refresh answers after which only linking again helps. */
const GRANT_GONE: ReadonlySet<string> = new Set(['invalid_grant', 'refresh_expired']);
/** An `invalid_grant` closer than this to `refresh_expires_at` is the expected end, not worth confirming. */
const EXPECTED_END_MS = DAY_MS;

/**
 * The half of a Link that keeps its tokens alive: one refresh at a time however many callers ask,
 * back-off after failures, a second opinion before giving up on an unexpected `invalid_grant`,
 * one timer for whatever is due next, the relink warnings and the end of the grant. The Link
 * (linking, revoking, the snapshot) builds on it.
 */
export abstract class TokenKeeper extends EventEmitter<{ snapshot: [Snapshot, readonly LinkEvent[]]; event: [LinkEvent, Snapshot] }> {
  readonly id: string;
  readonly slug: string;
  protected readonly options: LinkOptions;
  protected readonly clock: Clock;
  protected readonly log: Logger;
  protected readonly timing: RefreshTiming;
  protected state: LinkState = 'unlinked';
  protected stored: StoredLink | null = null;
  protected lastError: LinkError | null = null;
  /** Bumped when the tokens are replaced or removed, so a late refresh cannot resurrect old ones. */
  protected generation = 0;
  protected inflightRefresh: Promise<TokenSet> | undefined;
  private wakeTimer: TimerHandle | undefined;
  protected closed = false;
  /** The provider's expiry model, known from the settings without resolving the provider. */
  private readonly expiry: ExpiryModel;
  private readonly ladder: RelinkLadder;
  private readonly formatRelinkPrompt: RelinkPromptFormatter;

  constructor(options: LinkOptions) {
    super();
    if (!/^[a-z0-9-]+$/.test(options.slug)) {
      throw new LinkError('config', `The link name "${options.slug}" may only use a-z, 0-9 and "-".`);
    }
    this.options = options;
    this.id = options.id;
    this.slug = options.slug;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? silentLogger;
    this.expiry = profileFor(options.settings.provider)?.expiry ?? { kind: 'none' };
    this.timing = new RefreshTiming(options.random ?? Math.random, this.expiry);
    this.ladder = new RelinkLadder(options.relinkLeadDays);
    this.formatRelinkPrompt = options.formatRelinkPrompt ?? englishRelinkPrompt;
  }

  /** Moves to `state`, telling listeners about `events`; gives the new snapshot. */
  protected abstract changed(state: LinkState, ...events: EventBody[]): Snapshot;
  /** The provider, resolved once. */
  protected abstract provider(): Promise<Provider>;
  /** The provider's name for messages, even when it cannot be resolved. */
  protected abstract providerName(): string;
  /** True while a linking attempt shows a code: the state stays `pending` whatever the tokens do. */
  protected abstract get linking(): boolean;

  /**
   * A valid access token, refreshing first when it has expired. However many callers ask at once,
   * at most one refresh goes to the provider.
   */
  async accessToken(): Promise<string> {
    const fresh = this.freshAccessToken();
    if (fresh) return fresh;
    if (this.timing.backingOff(this.clock.now()) && this.lastError) throw this.lastError;
    return (await this.refreshTokens()).accessToken;
  }

  /**
   * The access token when it needs no refresh, or null (then `accessToken()` refreshes). For hot
   * paths that answer in the same turn (the status node); throws like `accessToken()` when there is
   * no usable link.
   */
  freshAccessToken(): string | null {
    this.assertOpen();
    const { tokens } = this.usableStored();
    return isFresh(tokens, this.clock.now()) ? tokens.accessToken : null;
  }

  /**
   * A new access token because the provider's API refused `rejected` (HTTP 401): the one refresh
   * that may go at once, joining any refresh under way. When `rejected` was already replaced, the
   * current token is given without asking the provider; after a failed refresh, its error until the
   * back-off allows the next.
   */
  async renewRejectedToken(rejected: string): Promise<string> {
    this.assertOpen();
    const stored = this.usableStored();
    if (stored.tokens.accessToken !== rejected) return this.accessToken();
    if (!this.inflightRefresh && this.timing.backingOff(this.clock.now()) && this.lastError) throw this.lastError;
    return (await this.refreshTokens()).accessToken;
  }

  /** The provider as resolved for this link (profile, endpoints), for whoever calls its API. */
  resolvedProvider(): Promise<Provider> {
    return this.provider();
  }

  /**
   * A refresh someone asked for (an action node, the editor, MQTT). It joins a refresh under way;
   * during back-off it is refused with `retry_later`; within 10 s of the last token call it makes
   * no call, the current tokens being as good as new. So however often it is asked, the provider
   * sees at most one refresh per 10 s.
   */
  protected async requestedRefresh(): Promise<void> {
    this.assertOpen();
    const stored = this.usableStored();
    if (this.inflightRefresh) {
      await this.inflightRefresh;
      return;
    }
    const now = this.clock.now();
    const spaced = this.options.refreshRequests !== 'unspaced';
    // Even unspaced requests leave the confirmation of an invalid_grant its delay: that is its point.
    if ((spaced || this.timing.confirming) && this.timing.backingOff(now)) {
      const waitMs = this.timing.retryNotBefore - now;
      throw new LinkError(
        'retry_later',
        `The last refresh failed, so the next try waits until ${iso(this.timing.retryNotBefore)} (${Math.ceil(waitMs / 1000)} s).`,
        { retryAfterMs: waitMs },
      );
    }
    if (spaced && this.timing.recentlyCalled(stored.tokens, now)) return;
    await this.refreshTokens();
  }

  protected refreshTokens(): Promise<TokenSet> {
    this.inflightRefresh ??= this.performRefresh().finally(() => {
      this.inflightRefresh = undefined;
    });
    return this.inflightRefresh;
  }

  private async performRefresh(): Promise<TokenSet> {
    const stored = this.usableStored();
    const refreshToken = stored.tokens.refreshToken;
    if (!refreshToken) {
      const problem = new LinkError('refresh_expired', 'The access expired and the provider gave no way to renew it. Link the account again.');
      await this.relinkRequired(problem);
      throw problem;
    }
    const generation = this.generation;
    const provider = await this.provider().catch((err: unknown) => this.refreshFailed(err, generation));
    let response: oauth.TokenEndpointResponse;
    try {
      this.timing.calling(this.clock.now());
      response = await openidClient().refreshTokenGrant(provider.config, refreshToken);
    } catch (err) {
      return this.refreshFailed(err, generation);
    }
    const tokens = toTokenSet(response, stored.tokens, this.clock.now(), provider.profile.expiry);
    if (generation !== this.generation || !this.stored) {
      // Revoked or relinked meanwhile: these tokens belong to a grant we no longer hold.
      throw new LinkError('not_linked', 'The link changed while it was being refreshed.');
    }
    // From this.stored, not `stored`: a relink warning may have been recorded meanwhile.
    const record: StoredLink = { ...this.stored, tokens, problem: null };
    // The rotated refresh token must be on disk before anyone uses the new access token. If the disk
    // refuses, the provider has already retired the old token: dropping the new one would lose the
    // link, so it is kept in memory (and saved by the next refresh) and the failure is reported.
    let unsaved: LinkError | null = null;
    try {
      await this.options.store.write(this.id, record);
    } catch (err) {
      unsaved = new LinkError(
        'store_failed',
        `The refreshed link could not be saved (${(err as Error).message}). It keeps working, but would be lost if Node-RED restarts before the next refresh saves it.`,
      );
    }
    this.stored = record;
    this.timing.succeeded();
    this.lastError = unsaved;
    this.log.debug(`[${this.slug}] refreshed; access token valid until ${iso(tokens.expiresAt)}`);
    const events: EventBody[] = [{ event_type: 'refreshed', token_expires_at: iso(tokens.expiresAt) }];
    if (unsaved) {
      this.log.error(`[${this.slug}] ${unsaved.message}`);
      events.push({ event_type: 'error', error: unsaved.toJSON() });
    }
    this.changed(this.unlessLinking('linked'), ...events);
    this.scheduleWake();
    return tokens;
  }

  private async refreshFailed(err: unknown, generation: number): Promise<never> {
    const problem = toLinkError(err, this.providerName());
    if (generation !== this.generation) throw problem;
    const now = this.clock.now();
    if (problem.code === 'invalid_grant' && this.worthConfirming(now)) {
      // Providers have answered invalid_grant for good tokens during outages. The refused token
      // was not exchanged, so presenting it once more cannot trip reuse detection (see README).
      const delay = this.timing.awaitConfirmation(now, retryAfterOf(err, now));
      const unconfirmed = new LinkError(
        'invalid_grant_unconfirmed',
        `${this.providerName()} refused the link. That can be a passing fault at the provider, so it is asked once more ` +
          `at ${iso(now + delay)} before the link is given up; the current access token keeps working until then.`,
        { retryAfterMs: delay },
      );
      return this.retryLater(unconfirmed, `asking once more in ${Math.round(delay / 1000)} s before giving up`);
    }
    if (GRANT_GONE.has(problem.code)) {
      if (this.timing.confirming) this.log.warn(`[${this.slug}] ${problem.code} confirmed by a second refusal`);
      await this.relinkRequired(problem);
      throw problem;
    }
    // Anything else (an outage, a wrong client secret fixed later, a full disk) may pass: retry, spaced.
    const delay = this.timing.failed(now, problem.retryAfterMs);
    return this.retryLater(problem, `retrying in ${Math.round(delay / 1000)} s`);
  }

  /** True when an `invalid_grant` now is a surprise: no end known, or the end is more than a day away. */
  private worthConfirming(now: number): boolean {
    const horizon = this.stored?.tokens.refreshExpiresAt ?? null;
    return !this.timing.confirming && (horizon === null || now < horizon - EXPECTED_END_MS);
  }

  /** A refresh failed in a way that may pass: say so, keep serving a valid token, and wake for the retry. */
  private retryLater(problem: LinkError, plan: string): never {
    this.lastError = problem;
    this.log.warn(`[${this.slug}] refresh failed (${problem.code}); ${plan}`);
    const stillValid = this.stored ? isFresh(this.stored.tokens, this.clock.now()) : false;
    this.changed(this.unlessLinking(stillValid ? 'linked' : 'error'), {
      event_type: 'refresh_failed',
      error: problem.toJSON(),
      retry_at: iso(this.timing.retryNotBefore),
    });
    this.scheduleWake();
    throw problem;
  }

  /** The grant is gone for good: keep the account (for the snapshot) and remember why. */
  protected async relinkRequired(problem: LinkError): Promise<void> {
    this.lastError = problem;
    this.clearWake();
    if (this.stored) {
      this.stored = { ...this.stored, problem: problem.toJSON() };
      await this.saveQuietly(this.stored, 'that a relink is required');
    }
    this.log.warn(`[${this.slug}] relink required: ${problem.message}`);
    this.changed(this.unlessLinking('relink_required'), { event_type: 'relink_required', error: problem.toJSON() });
  }

  /** One timer per link: the next refresh, retry, confirmation, relink warning or horizon, whichever comes first. */
  protected scheduleWake(): void {
    this.clearWake();
    const stored = this.stored;
    if (this.closed || !stored || stored.problem) return;
    const now = this.clock.now();
    const at = this.timing.nextWake(stored.tokens, now, this.ladder.nextAt(stored.tokens, stored.relinkWarnings));
    if (at === null) return;
    this.wakeTimer = this.clock.setTimer(Math.max(0, at - now), () => {
      this.wakeTimer = undefined;
      this.wake().catch((err: unknown) => this.log.error(`[${this.slug}] ${(err as Error).message}`));
    });
  }

  private async wake(): Promise<void> {
    if (this.closed || !this.stored || this.stored.problem) return;
    const now = this.clock.now();
    const { refreshExpiresAt } = this.stored.tokens;
    if (refreshExpiresAt !== null && now >= refreshExpiresAt) {
      await this.relinkRequired(
        new LinkError('refresh_expired', `${this.providerName()} links last a limited time and this one has ended. Link the account again.`),
      );
      return;
    }
    await this.warnIfDue(now);
    const stored = this.stored;
    if (this.timing.failures > 0 && this.state === 'linked' && !isFresh(stored.tokens, now)) this.changed('error');
    if (this.timing.refreshDue(now)) {
      await this.refreshTokens().catch(() => undefined);
      return;
    }
    this.scheduleWake();
  }

  /** Sends the relink warning that is due, once: what was sent is stored, so a restart does not repeat it. */
  private async warnIfDue(now: number): Promise<void> {
    const stored = this.stored!;
    const warning = this.ladder.take(stored.tokens, stored.relinkWarnings, now);
    if (!warning) return;
    this.stored = { ...stored, relinkWarnings: warning.record };
    await this.saveQuietly(this.stored, 'the relink warning');
    this.log.info(`[${this.slug}] relink needed within ${warning.daysLeft} day(s), by ${iso(stored.tokens.refreshExpiresAt)}`);
    this.changed(this.state, {
      event_type: 'relink_soon',
      refresh_expires_at: iso(stored.tokens.refreshExpiresAt),
      days_left: warning.daysLeft,
    });
  }

  /**
   * The prompt while linked and the end is near: after the first relink warning, or at once when
   * the provider gave a lifetime its profile explains (a Google app in Testing). Null otherwise.
   */
  protected relinkPrompt(): string | null {
    const stored = this.stored;
    if (!stored || stored.problem || (this.state !== 'linked' && this.state !== 'error')) return null;
    const { tokens } = stored;
    const now = this.clock.now();
    if (tokens.refreshExpiresAt === null || now >= tokens.refreshExpiresAt) return null;
    const short = this.expiry.kind === 'stated' ? this.expiry.shortLifetime : undefined;
    const reason = short && tokens.refreshExpiresStated && tokens.refreshExpiresAt - tokens.obtainedAt <= short.atMostMs ? short : null;
    if (!reason && this.ladder.sent(tokens, stored.relinkWarnings).length === 0) return null;
    return this.formatRelinkPrompt({
      provider: this.providerName(),
      daysLeft: daysLeft(tokens.refreshExpiresAt, now),
      endsAt: tokens.refreshExpiresAt,
      reason,
    });
  }

  private async saveQuietly(record: StoredLink, what: string): Promise<void> {
    await this.options.store.write(this.id, record).catch((err: unknown) => {
      this.log.warn(`[${this.slug}] could not record ${what}: ${(err as Error).message}`);
    });
  }

  protected clearWake(): void {
    if (this.wakeTimer) this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = undefined;
  }

  /** `state`, unless a linking attempt shows a code: then the link stays `pending` whatever its tokens do. */
  private unlessLinking(state: LinkState): LinkState {
    return this.linking ? 'pending' : state;
  }

  protected usableStored(): StoredLink {
    if (!this.stored) throw new LinkError('not_linked', 'This account is not linked yet. Start linking first.');
    if (this.stored.problem) {
      throw new LinkError(this.stored.problem.code, this.stored.problem.message);
    }
    return this.stored;
  }

  protected assertOpen(): void {
    if (this.closed) throw new LinkError('closed', 'The link was closed.');
  }
}

/** The wait an OAuth error response asked for (its Retry-After header), if it names one. */
function retryAfterOf(err: unknown, now: number): number | undefined {
  const response = err instanceof openidClient().ResponseBodyError ? err.response : undefined;
  return parseRetryAfter(response?.headers.get('retry-after') ?? null, now);
}
