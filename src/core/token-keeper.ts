import { EventEmitter } from 'node:events';
import type * as oauth from 'openid-client';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { LinkError, toLinkError } from './errors.js';
import type { EventBody, LinkOptions } from './link-types.js';
import { silentLogger, type Logger } from './logger.js';
import type { Provider } from './providers.js';
import { isFresh, RefreshTiming } from './refresh-timing.js';
import { iso, type LinkEvent, type LinkState, type Snapshot } from './snapshot.js';
import type { StoredLink, TokenSet } from './store.js';
import { toTokenSet } from './token-set.js';
import { openidClient } from './on-first-use.js';

/** Refresh answers after which only linking again helps. */
const GRANT_GONE: ReadonlySet<string> = new Set(['invalid_grant', 'refresh_expired']);

/**
 * The half of a Link that keeps its tokens alive: one refresh at a time however many callers ask,
 * back-off after failures, one timer for whatever is due next, and the end of the grant. The Link
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
    this.timing = new RefreshTiming(options.random ?? Math.random);
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
    this.assertOpen();
    const stored = this.usableStored();
    if (isFresh(stored.tokens, this.clock.now())) return stored.tokens.accessToken;
    if (this.timing.backingOff(this.clock.now()) && this.lastError) throw this.lastError;
    return (await this.refreshTokens()).accessToken;
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
      response = await openidClient().refreshTokenGrant(provider.config, refreshToken);
    } catch (err) {
      return this.refreshFailed(toLinkError(err, provider.displayName), generation);
    }
    const tokens = toTokenSet(response, stored.tokens, this.clock.now(), provider.profile.expiry.kind === 'fixed');
    const record: StoredLink = { ...stored, tokens, problem: null };
    if (generation !== this.generation) {
      // Revoked or relinked meanwhile: these tokens belong to a grant we no longer hold.
      throw new LinkError('not_linked', 'The link changed while it was being refreshed.');
    }
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
    if (GRANT_GONE.has(problem.code)) {
      await this.relinkRequired(problem);
      throw problem;
    }
    // Anything else (an outage, a wrong client secret fixed later, a full disk) may pass: retry, spaced.
    const delay = this.timing.failed(this.clock.now(), problem.retryAfterMs);
    this.lastError = problem;
    this.log.warn(`[${this.slug}] refresh failed (${problem.code}); retrying in ${Math.round(delay / 1000)} s`);
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
      await this.options.store.write(this.id, this.stored).catch((err: unknown) => {
        this.log.warn(`[${this.slug}] could not record that a relink is required: ${(err as Error).message}`);
      });
    }
    this.log.warn(`[${this.slug}] relink required: ${problem.message}`);
    this.changed(this.unlessLinking('relink_required'), { event_type: 'relink_required', error: problem.toJSON() });
  }

  /** One timer per link: the next refresh, retry, relink warning or horizon, whichever comes first. */
  protected scheduleWake(): void {
    this.clearWake();
    const stored = this.stored;
    if (this.closed || !stored || stored.problem) return;
    const at = this.timing.nextWake(stored.tokens, this.clock.now());
    if (at === null) return;
    this.wakeTimer = this.clock.setTimer(Math.max(0, at - this.clock.now()), () => {
      this.wakeTimer = undefined;
      this.wake().catch((err: unknown) => this.log.error(`[${this.slug}] ${(err as Error).message}`));
    });
  }

  private async wake(): Promise<void> {
    const stored = this.stored;
    if (this.closed || !stored || stored.problem) return;
    const now = this.clock.now();
    const { refreshExpiresAt } = stored.tokens;
    if (refreshExpiresAt !== null && now >= refreshExpiresAt) {
      await this.relinkRequired(
        new LinkError('refresh_expired', `${this.providerName()} links last a limited time and this one has ended. Link the account again.`),
      );
      return;
    }
    if (this.timing.takeRelinkWarning(stored.tokens, now)) {
      this.changed(this.state, { event_type: 'relink_soon', refresh_expires_at: iso(refreshExpiresAt) });
    }
    if (this.timing.failures > 0 && this.state === 'linked' && !isFresh(stored.tokens, now)) this.changed('error');
    if (this.timing.refreshDue(stored.tokens, now)) {
      await this.refreshTokens().catch(() => undefined);
      return;
    }
    this.scheduleWake();
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
