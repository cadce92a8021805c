import type * as oauth from 'openid-client';
import type { Account } from './account.js';
import type { LinkingContext, LinkingProgress } from './device-flow.js';
import { LinkError, toLinkError } from './errors.js';
import { createProviderFetch } from './http.js';
import type { EventBody, LinkAttempt, LinkingRun, LinkOptions, RevokeResult, StartOptions } from './link-types.js';
import { fallBack, openSession } from './linking-methods.js';
import { displayNameFor, resolveProvider, type Provider } from './providers.js';
import { isFresh } from './refresh-timing.js';
import { accountChangeRefused, isAccountChange } from './relink.js';
import { revokeAtProvider } from './revocation.js';
import { buildSnapshot, englishPrompt, iso, type LinkEvent, type LinkState, type PromptFormatter, type Snapshot } from './snapshot.js';
import type { StoredLink, TokenSet } from './store.js';
import { TokenKeeper } from './token-keeper.js';
import { toTokenSet } from './token-set.js';

/**
 * One linked account's state machine. After every change it emits each `event` that happened, with
 * the snapshot after the change, then `snapshot` with the same snapshot and those events. Never calls
 * back into its users.
 */
export class Link extends TokenKeeper {
  private readonly formatPrompt: PromptFormatter;
  private readonly announce = (message: string): void => this.log.info(`[${this.slug}] ${message}`);
  private attempt: LinkingRun | null = null;
  private starting: Promise<LinkAttempt> | undefined;
  /** Whether a caller of the attempt still being started asked to replace the account. */
  private startingReplaces = false;
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

  /** What people call this link: its configured name, else its slug. */
  get name(): string {
    return this.options.name?.trim() || this.slug;
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
   * show. An existing link keeps working, and refreshing, until the new one is stored; an attempt
   * that ends any other way leaves it as it was.
   */
  async start(options: StartOptions = {}): Promise<LinkAttempt> {
    this.assertOpen();
    const replaceAccount = options.replaceAccount === true;
    if (this.attempt) {
      // Asking again to switch accounts applies to the code already on show.
      this.attempt.replaceAccount ||= replaceAccount;
      return { pending: this.current, finished: this.attempt.finished };
    }
    this.startingReplaces ||= replaceAccount;
    // Concurrent callers share one attempt; cancel() can stop it before a code exists.
    this.starting ??= this.begin(new AbortController()).finally(() => {
      this.starting = undefined;
      this.startingReplaces = false;
    });
    return this.starting;
  }

  private async begin(controller: AbortController): Promise<LinkAttempt> {
    this.startingController = controller;
    try {
      const provider = await this.provider();
      const context: LinkingContext = {
        provider,
        clock: this.clock,
        signal: controller.signal,
        log: (message) => this.log.debug(`[${this.slug}] ${message}`),
        slug: this.slug,
        progress: (update) => this.progressed(controller, update),
      };
      const session = await openSession(context, this.options.pairing, this.announce);
      if (controller.signal.aborted) throw controller.signal.reason;
      const run: LinkingRun = {
        session,
        controller,
        finished: Promise.resolve(this.current),
        replaceAccount: this.startingReplaces,
        before: { stored: this.stored, error: this.lastError, state: this.state },
      };
      run.finished = this.follow(run, context);
      // A listener that throws must not become an unhandled rejection that stops Node-RED.
      run.finished.catch((err: unknown) => this.log.error(`[${this.slug}] ${(err as Error).message}`));
      this.attempt = run;
      this.lastError = null;
      this.log.info(`[${this.slug}] linking started; code expires ${iso(session.expiresAt)}`);
      this.changed('pending', { event_type: 'linking_started', code_expires_at: iso(session.expiresAt) });
      return { pending: this.current, finished: run.finished };
    } catch (err) {
      throw this.startFailed(err);
    } finally {
      this.startingController = undefined;
    }
  }

  /** The attempt moved on (a pairing code was entered, or its sign-in failed and may be tried again). */
  private progressed(controller: AbortController, update: LinkingProgress): void {
    if (this.attempt?.controller !== controller || this.closed) return;
    this.attempt.progress = update;
    this.lastError = update.error;
    this.log.info(
      update.error
        ? `[${this.slug}] the sign-in failed (${update.error.code}); it may be tried again until ${iso(update.expiresAt)}`
        : `[${this.slug}] code entered; waiting for the sign-in`,
    );
    this.changed('pending');
  }

  /** Waits for the attempt's tokens; a device flow refused after its code was shown gives way to the pairing page. */
  private async follow(run: LinkingRun, context: LinkingContext): Promise<Snapshot> {
    const { provider } = context;
    let mayFallBack = provider.flow === 'device';
    for (;;) {
      let response: oauth.TokenEndpointResponse;
      try {
        response = await run.session.tokens;
      } catch (err) {
        if (!mayFallBack) return this.failAttempt(provider, err);
        mayFallBack = false;
        try {
          run.session = await fallBack(context, err, this.options.pairing, this.announce);
        } catch (refused) {
          return this.failAttempt(provider, refused);
        }
        this.changed('pending', { event_type: 'linking_started', code_expires_at: iso(run.session.expiresAt) });
        continue;
      }
      return this.completeAttempt(provider, response, run);
    }
  }

  /**
   * A start that failed before there was a code (no client id, discovery failed): an unlinked link's
   * snapshot carries it like any failure, and the caller is told; logging it is the caller's business.
   */
  private startFailed(err: unknown): LinkError {
    const problem = toLinkError(err, this.providerName());
    // A relink that could not even start leaves the working link exactly as it was (issue 11).
    if (problem.code !== 'cancelled' && problem.code !== 'closed' && !this.closed && !this.stored) {
      this.lastError = problem;
      this.changed(this.restingState(null), { event_type: 'error', error: problem.toJSON() });
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

  /**
   * Refreshes now and returns the new snapshot; joins a refresh under way, answers from the current
   * tokens within 10 s of the last token call, and refuses with `retry_later` during back-off.
   */
  async refresh(): Promise<Snapshot> {
    await this.requestedRefresh();
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

  private async completeAttempt(provider: Provider, response: oauth.TokenEndpointResponse, run: LinkingRun): Promise<Snapshot> {
    const now = this.clock.now();
    const { expiry } = provider.profile;
    const tokens = toTokenSet(response, null, now, expiry);
    let account: Account | null = null;
    try {
      account = await provider.fetchAccount(tokens.accessToken);
    } catch (err) {
      const problem = toLinkError(err, provider.displayName);
      if (problem.code === 'user_not_registered') return this.failAttempt(provider, problem);
      this.log.warn(`[${this.slug}] linked, but the account name could not be read: ${problem.message}`);
    }
    const previous = this.stored?.account ?? null;
    const accountChanged = isAccountChange(previous, account);
    if (accountChanged && !run.replaceAccount && this.options.accountChange !== 'allow') {
      return this.refuseAccount(provider, tokens, accountChangeRefused(provider.displayName, previous!, account!));
    }
    const record: StoredLink = { tokens, account, problem: null };
    try {
      await this.storeNewLink(record, () => {
        this.attempt = null;
        this.generation++;
        this.stored = record;
        this.timing.restart();
        this.lastError = null;
        this.log.info(`[${this.slug}] linked${account ? ` as ${account.name}` : ''}`);
        this.changed('linked', {
          event_type: 'linked',
          account,
          account_changed: accountChanged,
          previous_account: accountChanged ? previous : null,
        });
        this.scheduleWake();
      });
    } catch (err) {
      if (this.stored === record) throw err;
      return this.failAttempt(provider, new LinkError('store_failed', `The link could not be saved: ${(err as Error).message}`));
    }
    return this.current;
  }

  /**
   * Writes a new link, then `install`s it, while no refresh of the old one runs: one already talking
   * to the provider lands first (its rotated token must not be lost if this write fails), and one
   * asked for during the write waits and gets the new tokens, or the old ones (refreshed if they
   * ran out) when the write failed.
   */
  private async storeNewLink(record: StoredLink, install: () => void): Promise<void> {
    while (this.inflightRefresh) await this.inflightRefresh.catch(() => undefined);
    let handOver!: (tokens: TokenSet | Promise<TokenSet>) => void;
    const handover = new Promise<TokenSet>((resolve) => (handOver = resolve));
    handover.catch(() => undefined);
    this.inflightRefresh = handover;
    try {
      await this.options.store.write(this.id, record);
    } catch (err) {
      this.inflightRefresh = undefined;
      const old = this.stored;
      handOver(old && !old.problem && isFresh(old.tokens, this.clock.now()) ? old.tokens : this.refreshTokens());
      // A wake that joined the write went with it: arm the old link's next one again.
      this.scheduleWake();
      throw err;
    }
    this.inflightRefresh = undefined;
    try {
      install();
    } finally {
      handOver(record.tokens);
    }
  }

  /** The relink signed in as someone else: the new tokens are revoked where the provider can, the old link stays. */
  private async refuseAccount(provider: Provider, tokens: TokenSet, problem: LinkError): Promise<Snapshot> {
    const notTold = provider.canRevoke ? await revokeAtProvider(provider, tokens) : null;
    if (notTold) this.log.warn(`[${this.slug}] the other account's tokens could not be revoked: ${notTold.code}`);
    return this.failAttempt(provider, problem);
  }

  private failAttempt(provider: Provider, err: unknown): Snapshot {
    const problem = toLinkError(err, provider.displayName);
    const run = this.attempt;
    this.attempt = null;
    if (problem.code === 'closed') return this.current;
    const cancelled = problem.code === 'cancelled';
    // A cancelled attempt leaves the link's error as it was, unless a refresh has changed the link since.
    this.lastError = !cancelled ? problem : run && run.before.stored === this.stored ? run.before.error : this.lastError;
    this.log.info(`[${this.slug}] linking ended: ${problem.code}`);
    const event: EventBody | undefined =
      problem.code === 'code_expired' || problem.code === 'access_denied'
        ? { event_type: problem.code }
        : cancelled
          ? undefined
          : { event_type: 'error', error: problem.toJSON() };
    const state = this.restingState(run);
    return event ? this.changed(state, event) : this.changed(state);
  }

  /** The state to return to when an attempt ends without a new link. */
  private restingState(run: LinkingRun | null): LinkState {
    // Unreadable tokens (nothing loaded) still need a relink after an attempt that failed.
    if (!this.stored) return run?.before.stored === null && run.before.state === 'relink_required' ? 'relink_required' : 'unlinked';
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
      progress: this.state === 'pending' ? this.attempt?.progress : undefined,
      stored: this.stored,
      error: this.lastError,
      updatedAt: this.updatedAt,
      formatPrompt: this.formatPrompt,
      speech: this.options.speech,
      relinkPrompt: this.relinkPrompt(),
    });
  }
}
