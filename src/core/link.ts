import { EventEmitter } from 'node:events';
import * as oauth from 'openid-client';
import type { Account } from './account.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { deviceFlow, type LinkingMethod, type LinkingSession } from './device-flow.js';
import { LinkError, toLinkError } from './errors.js';
import { createProviderFetch, type HttpOptions } from './http.js';
import { silentLogger, type Logger } from './logger.js';
import { displayNameFor, resolveProvider, type Provider, type ProviderSettings } from './providers.js';
import { revokeAtProvider } from './revocation.js';
import { englishPrompt, iso, type LinkEvent, type LinkState, type PromptFormatter, type Snapshot } from './snapshot.js';
import type { StoredLink, TokenSet, TokenStore } from './store.js';
import { toTokenSet } from './token-set.js';

export interface LinkOptions {
  /** Stable id (the config node's id): names the store file. */
  id: string;
  /** Slug `[a-z0-9-]+` used in topics and pages (the snapshot's `link`). */
  slug: string;
  settings: ProviderSettings;
  store: TokenStore;
  clock?: Clock;
  http?: HttpOptions;
  logger?: Logger;
  /** Source of jitter in [0, 1). */
  random?: () => number;
  formatPrompt?: PromptFormatter;
  /** How codes are made when the provider has no device flow (the pairing page, issue 5). */
  pairing?: LinkingMethod;
}

/** What `start()` gives: the code to show now, and the snapshot the attempt ends with. */
export interface LinkAttempt {
  pending: Snapshot;
  finished: Promise<Snapshot>;
}

export interface RevokeResult {
  snapshot: Snapshot;
  /** Where the person can remove the app's access by hand, when the provider has such a page. */
  manageUrl: string | null;
}

/** The linking attempt under way: its code and how to stop it. */
interface LinkingRun {
  session: LinkingSession;
  controller: AbortController;
  finished: Promise<Snapshot>;
}

/** Refresh this long before expiry, as a share of the token's lifetime (plus up to half as much jitter). */
const REFRESH_LEAD_SHARE = 0.1;
/** An access token this close to expiry is not handed out. */
const EXPIRY_SKEW_MS = 30_000;
const RETRY_BASE_MS = 5_000;
const RETRY_MAX_MS = 10 * 60_000;
const RELINK_SOON_MS = 14 * 24 * 60 * 60 * 1000;
/** Refresh answers after which only linking again helps. */
const GRANT_GONE: ReadonlySet<string> = new Set(['invalid_grant', 'refresh_expired']);

/** A LinkEvent before it is stamped with its time. */
type EventBody = LinkEvent extends infer E ? (E extends unknown ? Omit<E, 'at'> : never) : never;

/**
 * One linked account's state machine. After every change it emits each `event` that happened, with
 * the snapshot after the change, then `snapshot` with the same snapshot and those events. Never calls
 * back into its users.
 */
export class Link extends EventEmitter<{ snapshot: [Snapshot, readonly LinkEvent[]]; event: [LinkEvent, Snapshot] }> {
  readonly id: string;
  readonly slug: string;
  private readonly options: LinkOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private readonly formatPrompt: PromptFormatter;

  private state: LinkState = 'unlinked';
  private stored: StoredLink | null = null;
  private lastError: LinkError | null = null;
  private attempt: LinkingRun | null = null;
  private starting: Promise<LinkAttempt> | undefined;
  private startingController: AbortController | undefined;
  private providerPromise: Promise<Provider> | undefined;
  private inflightRefresh: Promise<TokenSet> | undefined;
  /** Bumped when the tokens are replaced or removed, so a late refresh cannot resurrect old ones. */
  private generation = 0;
  private failures = 0;
  private retryNotBefore = 0;
  private relinkSoonAnnounced = false;
  private wakeTimer: TimerHandle | undefined;
  /** When the armed wake should refresh: the jittered lead chosen by scheduleWake, not re-rolled on waking. */
  private plannedRefreshAt: number | undefined;
  private updatedAt: number;
  private closed = false;
  private current: Snapshot;

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
    this.random = options.random ?? Math.random;
    this.formatPrompt = options.formatPrompt ?? englishPrompt;
    this.updatedAt = this.clock.now();
    this.current = this.build();
  }

  /** The latest snapshot. */
  snapshot(): Snapshot {
    return this.current;
  }

  /** Reads the stored link and arms its refresh. Call once, before anything else. */
  async load(): Promise<Snapshot> {
    try {
      this.stored = await this.options.store.read(this.id);
    } catch (err) {
      await this.relinkRequired(toLinkError(err, this.providerName()));
      return this.current;
    }
    if (!this.stored) return this.changed('unlinked');
    if (this.stored.problem) {
      this.lastError = new LinkError(this.stored.problem.code, this.stored.problem.message);
      return this.changed('relink_required');
    }
    this.changed('linked');
    this.scheduleWake();
    return this.current;
  }

  /**
   * Starts linking (or returns the attempt already under way). Resolves once there is a code to
   * show. An existing link keeps working until the new one succeeds.
   */
  async start(): Promise<LinkAttempt> {
    this.assertOpen();
    if (this.attempt) return { pending: this.current, finished: this.attempt.finished };
    // Concurrent callers share one attempt; cancel() can stop it before a code exists.
    this.starting ??= this.begin(new AbortController()).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  private async begin(controller: AbortController): Promise<LinkAttempt> {
    this.startingController = controller;
    try {
      const provider = await this.provider();
      const method = provider.flow === 'device' ? deviceFlow : this.options.pairing;
      if (!method) {
        throw new LinkError('unsupported', `${provider.displayName} needs the pairing page, which is not available here.`);
      }
      if (controller.signal.aborted) throw controller.signal.reason;
      const session = await method({
        provider,
        clock: this.clock,
        signal: controller.signal,
        log: (message) => this.log.debug(`[${this.slug}] ${message}`),
      });
      if (controller.signal.aborted) throw controller.signal.reason;
      const finished = session.tokens.then(
        (response) => this.completeAttempt(provider, response),
        (err: unknown) => this.failAttempt(provider, err),
      );
      // A listener that throws must not become an unhandled rejection that stops Node-RED.
      finished.catch((err: unknown) => this.log.error(`[${this.slug}] ${(err as Error).message}`));
      this.attempt = { session, controller, finished };
      this.lastError = null;
      this.log.info(`[${this.slug}] linking started; code expires ${iso(session.expiresAt)}`);
      this.changed('pending', { event_type: 'linking_started', code_expires_at: iso(session.expiresAt) });
      return { pending: this.current, finished };
    } finally {
      this.startingController = undefined;
    }
  }

  /**
   * Cancels the linking attempt under way (or about to show its code). Resolves with the snapshot
   * the attempt ends with, or the current one when nothing was under way.
   */
  cancel(): Promise<Snapshot> {
    const reason = new LinkError('cancelled', 'Linking was cancelled.');
    this.startingController?.abort(reason);
    if (!this.attempt) return Promise.resolve(this.current);
    this.attempt.controller.abort(reason);
    return this.attempt.finished;
  }

  /**
   * A valid access token, refreshing first when it has expired. However many callers ask at once,
   * at most one refresh goes to the provider.
   */
  async accessToken(): Promise<string> {
    this.assertOpen();
    const stored = this.usableStored();
    if (this.isFresh(stored.tokens)) return stored.tokens.accessToken;
    if (this.clock.now() < this.retryNotBefore && this.lastError) throw this.lastError;
    return (await this.refreshTokens()).accessToken;
  }

  /** Refreshes now (joining any refresh under way) and returns the new snapshot. */
  async refresh(): Promise<Snapshot> {
    this.assertOpen();
    this.usableStored();
    await this.refreshTokens();
    return this.current;
  }

  /**
   * Revokes both tokens at the provider where it can (RFC 7009) and always deletes them here.
   * A provider that cannot be told is reported in the snapshot's `error`, not thrown.
   */
  async revoke(): Promise<RevokeResult> {
    this.assertOpen();
    void this.cancel();
    await this.inflightRefresh?.catch(() => undefined);
    // Detach the tokens before any await, so no refresh can start and write them back meanwhile.
    const stored = this.stored;
    this.stored = null;
    this.clearWake();
    this.generation++;
    let provider: Provider | undefined;
    let problem: LinkError | null = null;
    try {
      provider = await this.provider();
    } catch (err) {
      problem = toLinkError(err, this.providerName());
    }
    if (stored && provider?.canRevoke) {
      problem = await revokeAtProvider(provider, stored.tokens);
    }
    await this.options.store.delete(this.id);
    this.failures = 0;
    this.retryNotBefore = 0;
    this.relinkSoonAnnounced = false;
    this.lastError = problem;
    this.log.info(`[${this.slug}] revoked${problem ? ` (provider not told: ${problem.code})` : ''}`);
    this.changed('unlinked', { event_type: 'revoked', provider_revoked: Boolean(provider?.canRevoke && !problem) });
    return { snapshot: this.current, manageUrl: provider?.profile.manageUrl ?? null };
  }

  /** Stops every timer and attempt. A refresh already talking to the provider is allowed to land. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clearWake();
    const reason = new LinkError('closed', 'The link was closed.');
    this.startingController?.abort(reason);
    this.attempt?.controller.abort(reason);
    await Promise.allSettled([this.inflightRefresh, this.attempt?.finished, this.starting]);
    this.removeAllListeners();
  }

  /** Deletes the stored tokens without telling the provider (the config node was deleted). */
  async forget(): Promise<void> {
    await this.close();
    await this.options.store.delete(this.id);
  }

  private provider(): Promise<Provider> {
    this.providerPromise ??= resolveProvider(
      this.options.settings,
      createProviderFetch(this.options.http ?? {}, this.clock),
    ).catch((err: unknown) => {
      // Discovery may fail only because the network is down: try again next time.
      this.providerPromise = undefined;
      throw toLinkError(err, this.providerName());
    });
    return this.providerPromise;
  }

  private async completeAttempt(provider: Provider, response: oauth.TokenEndpointResponse): Promise<Snapshot> {
    const now = this.clock.now();
    const { expiry } = provider.profile;
    const tokens = toTokenSet(response, null, now, expiry.kind === 'fixed');
    let account: Account | null = null;
    try {
      account = await provider.fetchAccount(tokens.accessToken);
    } catch (err) {
      const problem = toLinkError(err, provider.displayName);
      if (problem.code === 'user_not_registered') return this.failAttempt(provider, problem);
      this.log.warn(`[${this.slug}] linked, but the account name could not be read: ${problem.message}`);
    }
    const previous = this.stored?.account ?? null;
    const record: StoredLink = { tokens, account, problem: null };
    if (expiry.kind === 'fixed') record.tokens.refreshExpiresAt = now + expiry.afterApprovalMs;
    try {
      await this.options.store.write(this.id, record);
    } catch (err) {
      return this.failAttempt(provider, new LinkError('store_failed', `The link could not be saved: ${(err as Error).message}`));
    }
    this.attempt = null;
    this.generation++;
    this.stored = record;
    this.failures = 0;
    this.retryNotBefore = 0;
    this.relinkSoonAnnounced = false;
    this.lastError = null;
    const accountChanged = Boolean(previous && account && previous.id !== account.id);
    this.log.info(`[${this.slug}] linked${account ? ` as ${account.name}` : ''}`);
    this.changed('linked', {
      event_type: 'linked',
      account,
      account_changed: accountChanged,
      previous_account: accountChanged ? previous : null,
    });
    this.scheduleWake();
    return this.current;
  }

  private failAttempt(provider: Provider, err: unknown): Snapshot {
    const problem = toLinkError(err, provider.displayName);
    this.attempt = null;
    if (problem.code === 'closed') return this.current;
    const cancelled = problem.code === 'cancelled';
    this.lastError = cancelled ? null : problem;
    this.log.info(`[${this.slug}] linking ended: ${problem.code}`);
    const event: EventBody | undefined =
      problem.code === 'code_expired' || problem.code === 'access_denied'
        ? { event_type: problem.code }
        : cancelled
          ? undefined
          : { event_type: 'error', error: problem.toJSON() };
    return event ? this.changed(this.restingState(), event) : this.changed(this.restingState());
  }

  /** The state to return to when an attempt ends without a new link. */
  private restingState(): LinkState {
    if (!this.stored) return 'unlinked';
    if (this.stored.problem) return 'relink_required';
    return this.isFresh(this.stored.tokens) || this.failures === 0 ? 'linked' : 'error';
  }

  private refreshTokens(): Promise<TokenSet> {
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
      response = await oauth.refreshTokenGrant(provider.config, refreshToken);
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
    this.failures = 0;
    this.retryNotBefore = 0;
    this.lastError = unsaved;
    this.log.debug(`[${this.slug}] refreshed; access token valid until ${iso(tokens.expiresAt)}`);
    const events: EventBody[] = [{ event_type: 'refreshed', token_expires_at: iso(tokens.expiresAt) }];
    if (unsaved) {
      this.log.error(`[${this.slug}] ${unsaved.message}`);
      events.push({ event_type: 'error', error: unsaved.toJSON() });
    }
    this.changed(this.attempt ? 'pending' : 'linked', ...events);
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
    this.failures++;
    const backoff = Math.min(RETRY_MAX_MS, RETRY_BASE_MS * 2 ** (this.failures - 1)) * (1 + this.random() * 0.2);
    const delay = Math.max(backoff, problem.retryAfterMs ?? 0);
    this.retryNotBefore = this.clock.now() + delay;
    this.lastError = problem;
    this.log.warn(`[${this.slug}] refresh failed (${problem.code}); retrying in ${Math.round(delay / 1000)} s`);
    const stillValid = this.stored ? this.isFresh(this.stored.tokens) : false;
    this.changed(this.attempt ? 'pending' : stillValid ? 'linked' : 'error', {
      event_type: 'refresh_failed',
      error: problem.toJSON(),
      retry_at: iso(this.retryNotBefore),
    });
    this.scheduleWake();
    throw problem;
  }

  /** The grant is gone for good: keep the account (for the snapshot) and remember why. */
  private async relinkRequired(problem: LinkError): Promise<void> {
    this.lastError = problem;
    this.clearWake();
    if (this.stored) {
      this.stored = { ...this.stored, problem: problem.toJSON() };
      await this.options.store.write(this.id, this.stored).catch((err: unknown) => {
        this.log.warn(`[${this.slug}] could not record that a relink is required: ${(err as Error).message}`);
      });
    }
    this.log.warn(`[${this.slug}] relink required: ${problem.message}`);
    this.changed(this.attempt ? 'pending' : 'relink_required', { event_type: 'relink_required', error: problem.toJSON() });
  }

  /** One timer per link: the next refresh, retry, relink warning or horizon, whichever comes first. */
  private scheduleWake(): void {
    this.clearWake();
    const stored = this.stored;
    if (this.closed || !stored || stored.problem) return;
    const { tokens } = stored;
    const due: number[] = [];
    if (tokens.refreshExpiresAt !== null) {
      due.push(tokens.refreshExpiresAt);
      if (!this.relinkSoonAnnounced) due.push(tokens.refreshExpiresAt - RELINK_SOON_MS);
    }
    if (tokens.expiresAt !== null) {
      const lifetime = Math.max(0, tokens.expiresAt - tokens.obtainedAt);
      const lead = lifetime * REFRESH_LEAD_SHARE * (1 + this.random() * 0.5);
      this.plannedRefreshAt = tokens.expiresAt - lead;
      due.push(Math.max(this.plannedRefreshAt, this.retryNotBefore));
      // While refreshes fail, turn to `error` when the token goes out of use, not at the next
      // retry, which may be minutes later.
      if (this.failures > 0 && this.isFresh(tokens)) due.push(tokens.expiresAt - EXPIRY_SKEW_MS);
    }
    if (due.length === 0) return;
    const at = Math.min(...due);
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
    if (refreshExpiresAt !== null && !this.relinkSoonAnnounced && now >= refreshExpiresAt - RELINK_SOON_MS) {
      this.relinkSoonAnnounced = true;
      this.changed(this.state, { event_type: 'relink_soon', refresh_expires_at: iso(refreshExpiresAt) });
    }
    if (this.failures > 0 && this.state === 'linked' && !this.isFresh(stored.tokens)) this.changed('error');
    const refreshDue = stored.tokens.expiresAt !== null && now >= (this.plannedRefreshAt ?? 0);
    if (refreshDue && now >= this.retryNotBefore) {
      await this.refreshTokens().catch(() => undefined);
      return;
    }
    this.scheduleWake();
  }

  private clearWake(): void {
    if (this.wakeTimer) this.clock.clearTimer(this.wakeTimer);
    this.wakeTimer = undefined;
  }

  private isFresh(tokens: TokenSet): boolean {
    return tokens.expiresAt === null || this.clock.now() < tokens.expiresAt - EXPIRY_SKEW_MS;
  }

  private usableStored(): StoredLink {
    if (!this.stored) throw new LinkError('not_linked', 'This account is not linked yet. Start linking first.');
    if (this.stored.problem) {
      throw new LinkError(this.stored.problem.code, this.stored.problem.message);
    }
    return this.stored;
  }

  private assertOpen(): void {
    if (this.closed) throw new LinkError('closed', 'The link was closed.');
  }

  private providerName(): string {
    return displayNameFor(this.options.settings);
  }

  /** Moves to `state` and tells the listeners: each event first, with the new snapshot, then the snapshot. */
  private changed(state: LinkState, ...bodies: EventBody[]): Snapshot {
    this.state = state;
    this.updatedAt = this.clock.now();
    this.current = this.build();
    const at = new Date(this.updatedAt).toISOString();
    const events = bodies.map((body) => ({ ...body, at }) as LinkEvent);
    for (const event of events) this.emit('event', event, this.current);
    this.emit('snapshot', this.current, events);
    return this.current;
  }

  private build(): Snapshot {
    const session = this.state === 'pending' ? this.attempt?.session : undefined;
    const tokens = this.stored?.tokens;
    return {
      link: this.slug,
      provider: this.options.settings.provider,
      state: this.state,
      account: this.stored?.account ?? null,
      user_code: session?.userCode ?? null,
      verification_uri: session?.verificationUri ?? null,
      verification_uri_complete: session?.verificationUriComplete ?? null,
      code_expires_at: iso(session?.expiresAt),
      token_expires_at: iso(tokens?.expiresAt),
      refresh_expires_at: iso(tokens?.refreshExpiresAt),
      scopes: tokens?.scope ? tokens.scope.split(/\s+/).filter(Boolean) : null,
      prompt: session ? this.formatPrompt({ provider: this.providerName(), url: session.verificationUri, code: session.userCode }) : null,
      error: this.lastError?.toJSON() ?? null,
      updated_at: new Date(this.updatedAt).toISOString(),
    };
  }
}
