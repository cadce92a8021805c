import type * as oauth from 'openid-client';
import type { Account } from './account.js';
import { deviceFlow } from './device-flow.js';
import { LinkError, toLinkError } from './errors.js';
import { createProviderFetch } from './http.js';
import type { EventBody, LinkAttempt, LinkingRun, LinkOptions, RevokeResult } from './link-types.js';
import { displayNameFor, resolveProvider, type Provider } from './providers.js';
import { isFresh } from './refresh-timing.js';
import { revokeAtProvider } from './revocation.js';
import { buildSnapshot, englishPrompt, iso, type LinkEvent, type LinkState, type PromptFormatter, type Snapshot } from './snapshot.js';
import type { StoredLink } from './store.js';
import { TokenKeeper } from './token-keeper.js';
import { toTokenSet } from './token-set.js';

/**
 * One linked account's state machine. After every change it emits each `event` that happened, with
 * the snapshot after the change, then `snapshot` with the same snapshot and those events. Never calls
 * back into its users.
 */
export class Link extends TokenKeeper {
  private readonly formatPrompt: PromptFormatter;
  private attempt: LinkingRun | null = null;
  private starting: Promise<LinkAttempt> | undefined;
  private startingController: AbortController | undefined;
  private providerPromise: Promise<Provider> | undefined;
  private updatedAt: number;
  private current: Snapshot;

  constructor(options: LinkOptions) {
    super(options);
    this.formatPrompt = options.formatPrompt ?? englishPrompt;
    this.updatedAt = this.clock.now();
    this.current = this.build();
  }

  protected get linking(): boolean {
    return this.attempt !== null;
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
    } catch (err) {
      throw this.startFailed(err);
    } finally {
      this.startingController = undefined;
    }
  }

  /**
   * A start that ended before there was a code (a missing client id, discovery that failed): the
   * snapshot carries the failure like any other, so badges, the dialog and MQTT show it, and the
   * caller is told too. Reporting it in the log is the caller's business.
   */
  private startFailed(err: unknown): LinkError {
    const problem = toLinkError(err, this.providerName());
    if (problem.code !== 'cancelled' && problem.code !== 'closed' && !this.closed) {
      this.lastError = problem;
      this.changed(this.restingState(), { event_type: 'error', error: problem.toJSON() });
    }
    return problem;
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
    this.timing.restart();
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
    await this.options.store.forget(this.id);
  }

  protected provider(): Promise<Provider> {
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
    this.timing.restart();
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
    return isFresh(this.stored.tokens, this.clock.now()) || this.timing.failures === 0 ? 'linked' : 'error';
  }

  protected providerName(): string {
    return displayNameFor(this.options.settings);
  }

  /** Moves to `state` and tells the listeners: each event first, with the new snapshot, then the snapshot. */
  protected changed(state: LinkState, ...bodies: EventBody[]): Snapshot {
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
    return buildSnapshot({
      slug: this.slug,
      provider: this.options.settings.provider,
      providerName: this.providerName(),
      state: this.state,
      session: this.state === 'pending' ? this.attempt?.session : undefined,
      stored: this.stored,
      error: this.lastError,
      updatedAt: this.updatedAt,
      formatPrompt: this.formatPrompt,
    });
  }
}
