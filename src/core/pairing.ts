import { randomBytes } from 'node:crypto';
import * as oauth from 'openid-client';
import type { Account } from './account.js';
import { AddressLimiter } from './address-limiter.js';
import { systemClock, type Clock } from './clock.js';
import type { LinkingContext, LinkingMethod, LinkingSession } from './device-flow.js';
import { codeExpired, LinkError, toLinkError } from './errors.js';
import { CODE_LIFETIME_MS, formatCode, normalizeCode, randomCode, type CodeStyle } from './pairing-codes.js';
import { redirectUriProblem } from './profiles/index.js';
import { isLoopbackRedirect, normalizeRoot, responseFromPastedAddress } from './redirects.js';
import { cancelledError, checkedPublicUrl, describeProviderError, waitForOutcome } from './pairing-attempt.js';
import type {
  CallbackResult,
  CodeResult,
  PairingAttempt,
  PairingCoordinatorOptions,
  PairingMethodOptions,
} from './pairing-types.js';
import { sameText, StateSigner } from './signed-state.js';

/**
 * The hub's own verification page for providers without a device flow (Spotify).
 *
 * The hub plays the provider's part of RFC 8628: a `PairingCoordinator` makes the short code a
 * person types on the hub's page, and turns a valid code into an authorization-code + PKCE request
 * at the provider. Each Link gets its LinkingMethod from `coordinator.method({...})`; the page
 * (src/web) calls `submitCode` and `complete`. Nothing here knows about HTTP servers or Node-RED.
 */

/** Once a valid code is entered, the person has this long to sign in and approve at the provider. */
export const AUTHORIZE_WINDOW_MS = 10 * 60_000;
export const WRONG_CODES_PER_CODE = 5;
export const FAILURES_PER_ADDRESS = 10;
export const ADDRESS_WINDOW_MS = 15 * 60_000;

type RetiredReason = 'used' | 'expired' | 'cancelled';

/** Makes pairing codes, checks them, and turns approvals into tokens for the Links waiting on them. */
export class PairingCoordinator {
  readonly httpNodeRoot: string;
  private readonly signer: StateSigner;
  private readonly clock: Clock;
  private readonly log: (message: string) => void;
  private readonly wrongCodesPerCode: number;
  private readonly limiter: AddressLimiter;
  private readonly attempts = new Map<string, PairingAttempt>();
  private readonly byCode = new Map<string, PairingAttempt>();
  /** Codes no longer valid, kept until they would have expired, so the page can say why. */
  private readonly retired = new Map<string, { reason: RetiredReason; until: number }>();
  private readonly authorizationOriginSet = new Set<string>();

  constructor(options: PairingCoordinatorOptions = {}) {
    this.httpNodeRoot = normalizeRoot(options.httpNodeRoot);
    this.signer = new StateSigner(options.stateKey);
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.wrongCodesPerCode = options.limits?.wrongCodesPerCode ?? WRONG_CODES_PER_CODE;
    this.limiter = new AddressLimiter(
      this.clock,
      options.limits?.failuresPerAddress ?? FAILURES_PER_ADDRESS,
      options.limits?.addressWindowMs ?? ADDRESS_WINDOW_MS,
    );
  }

  /**
   * The LinkingMethod for one Link: `new Link({..., pairing: coordinator.method({publicUrl, redirectUri})})`.
   * Each call of the method makes a fresh code.
   */
  method(options: PairingMethodOptions): LinkingMethod {
    const publicUrl = checkedPublicUrl(options.publicUrl);
    const hubCallback = `${publicUrl}${this.httpNodeRoot}link/callback`;
    const redirectUri = options.redirectUri?.trim() || hubCallback;
    return (context) => this.begin(context, { publicUrl, redirectUri, hubCallback, source: options.source, codeStyle: options.codeStyle });
  }

  /** Codes waiting to be entered or sign-ins waiting to come back. */
  get pendingCount(): number {
    return this.attempts.size;
  }

  /** Origins of the authorization endpoints seen so far (the page's CSP `form-action` must allow them). */
  authorizationOrigins(): string[] {
    return [...this.authorizationOriginSet];
  }

  /** True when a pending attempt's redirect URI is a loopback address (the page then explains the paste step). */
  awaitsPastedAddress(): boolean {
    return [...this.attempts.values()].some((attempt) => isLoopbackRedirect(attempt.redirectUri));
  }

  /**
   * Checks a code typed on the page by the client at `address`. A valid code is used up and gives
   * the authorization URL (PKCE S256, signed single-use `state`). Every wrong code counts against
   * every code waiting (a guess could be aimed at any of them): the one that reaches the limit dies.
   */
  async submitCode(input: string, address: string): Promise<CodeResult> {
    const limited = this.rateLimited(address);
    if (limited) return limited;
    const code = normalizeCode(input);
    if (!code) return { kind: 'malformed' };
    this.pruneRetired();

    const attempt = this.byCode.get(code);
    if (!attempt) {
      const retired = this.retired.get(code);
      if (retired) return { kind: retired.reason };
      this.limiter.recordFailure(address);
      if (this.byCode.size === 0) return { kind: 'no_pending' };
      return { kind: 'wrong', cancelledCodes: this.countWrongCode(address) };
    }
    if (attempt.clock.now() >= attempt.expiresAt) {
      this.end(attempt, 'expired', codeExpired());
      return { kind: 'expired' };
    }

    // Single use: from here on the code is gone, whatever happens at the provider.
    this.byCode.delete(code);
    this.retire(code, 'used', attempt.expiresAt);
    const verifier = oauth.randomPKCECodeVerifier();
    const state = this.signer.sign({ a: attempt.id, h: attempt.hubCallback });
    let authorizationUrl: URL;
    try {
      authorizationUrl = oauth.buildAuthorizationUrl(attempt.provider.config, {
        ...attempt.provider.profile.authorizeParams,
        redirect_uri: attempt.redirectUri,
        scope: attempt.provider.scope,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
    } catch (err) {
      this.end(attempt, 'cancelled', toLinkError(err, attempt.provider.displayName));
      throw err;
    }
    if (!this.attempts.has(attempt.id)) return { kind: 'cancelled' };
    attempt.status = 'authorizing';
    attempt.state = state;
    attempt.verifier = verifier;
    attempt.deadline = attempt.clock.now() + AUTHORIZE_WINDOW_MS;
    this.arm(attempt);
    attempt.log('code entered on the pairing page; waiting for the sign-in at the provider');
    return { kind: 'redirect', authorizationUrl: authorizationUrl.href };
  }

  /**
   * Finishes a sign-in: `response` holds the parameters the provider put on the redirect URI
   * (`code`, `state`, `iss` or `error`). Checks the signed single-use state, exchanges the code with
   * the PKCE verifier and hands the tokens to the waiting Link.
   */
  async complete(response: URLSearchParams, address: string): Promise<CallbackResult> {
    const limited = this.rateLimited(address);
    if (limited) return limited;
    const state = response.get('state');
    if (!state || (!response.get('code') && !response.get('error'))) return { kind: 'missing_response' };
    const claims = this.signer.verify(state);
    if (!claims) {
      this.limiter.recordFailure(address);
      this.log(`pairing page: a sign-in answer with an invalid state came from ${address}`);
      return { kind: 'invalid_state' };
    }
    const attempt = this.attempts.get(claims.a);
    if (!attempt || attempt.status !== 'authorizing' || !attempt.state || !sameText(attempt.state, state)) {
      this.limiter.recordFailure(address);
      this.log(`pairing page: a used or expired sign-in answer came from ${address}`);
      return { kind: 'state_used' };
    }
    attempt.status = 'exchanging';
    const failed = (error: LinkError, endAttempt = true): CallbackResult => {
      if (endAttempt) this.end(attempt, null, error);
      return { kind: 'failed', provider: attempt.provider.displayName, error, redirectUri: attempt.redirectUri };
    };
    if (attempt.clock.now() >= attempt.deadline) return failed(codeExpired());

    const providerError = response.get('error');
    if (providerError) {
      attempt.log(`the provider answered the sign-in with "${providerError}"`);
      return failed(this.describe(attempt, providerError, response.get('error_description') ?? undefined));
    }

    let tokens: oauth.TokenEndpointResponse;
    try {
      tokens = await this.exchange(attempt, response, state);
    } catch (err) {
      const problem = this.describeFailure(attempt, err);
      attempt.log(`exchanging the code failed (${problem.code})`);
      return failed(problem);
    }
    // Cancelled or closed while the code was being exchanged.
    if (!this.attempts.has(attempt.id)) return failed(cancelledError(attempt.signal), false);

    const source = attempt.source?.();
    const outcome = source ? waitForOutcome(source, attempt.clock, attempt.signal) : undefined;
    const account = source ? null : await this.readAccount(attempt, tokens).catch((err: LinkError) => err);
    this.end(attempt, null, null, tokens);
    if (account instanceof LinkError) return failed(account, false);
    if (!outcome) return { kind: 'linked', provider: attempt.provider.displayName, account };

    const snapshot = await outcome;
    if (!snapshot) return failed(cancelledError(attempt.signal), false);
    if (snapshot.state === 'linked' && !snapshot.error) {
      return { kind: 'linked', provider: attempt.provider.displayName, account: snapshot.account };
    }
    const error = snapshot.error
      ? new LinkError(snapshot.error.code, snapshot.error.message)
      : new LinkError('provider_error', 'Linking did not finish.');
    return failed(error, false);
  }

  /**
   * The paste step: `pasted` is the address the browser ended on (a loopback redirect URI that
   * cannot load on a phone). Accepts a full URL or just its query.
   */
  completePasted(pasted: string, address: string): Promise<CallbackResult> {
    return this.complete(responseFromPastedAddress(pasted), address);
  }

  private exchange(attempt: PairingAttempt, response: URLSearchParams, state: string): Promise<oauth.TokenEndpointResponse> {
    // openid-client takes the redirect_uri for the token request from this URL: it must be the
    // registered one even when the answer arrived through the relay page or was pasted.
    const currentUrl = new URL(attempt.redirectUri);
    currentUrl.search = '';
    currentUrl.hash = '';
    for (const [name, value] of response) currentUrl.searchParams.append(name, value);
    return oauth.authorizationCodeGrant(attempt.provider.config, currentUrl, {
      pkceCodeVerifier: attempt.verifier ?? undefined,
      expectedState: state,
    });
  }

  /** Without a Link to wait for, the page reads the account itself; only a refusal with words fails. */
  private async readAccount(attempt: PairingAttempt, tokens: oauth.TokenEndpointResponse): Promise<Account | null> {
    try {
      return await attempt.provider.fetchAccount(tokens.access_token);
    } catch (err) {
      const problem = toLinkError(err, attempt.provider.displayName);
      if (problem.code === 'user_not_registered') throw problem;
      return null;
    }
  }

  /** An OAuth error from the redirect or the token endpoint, in the provider's own words where it has them. */
  private describe(attempt: PairingAttempt, error: string, description: string | undefined): LinkError {
    return describeProviderError(attempt.provider, error, description, attempt.redirectUri, this.httpNodeRoot);
  }

  private describeFailure(attempt: PairingAttempt, err: unknown): LinkError {
    if (err instanceof oauth.ResponseBodyError || err instanceof oauth.AuthorizationResponseError) {
      return this.describe(attempt, err.error, err.error_description);
    }
    const { provider, redirectUri } = attempt;
    const found = toLinkError(err, provider.displayName);
    return provider.profile.describeError(found.message, provider.displayName, redirectUri, this.httpNodeRoot) ?? found;
  }

  /** A wrong code counts against every code waiting; returns how many codes that cancelled. */
  private countWrongCode(address: string): number {
    let cancelledCodes = 0;
    for (const waiting of [...this.byCode.values()]) {
      waiting.wrongTries++;
      if (waiting.wrongTries < this.wrongCodesPerCode) continue;
      cancelledCodes++;
      waiting.log('too many wrong codes were entered on the pairing page; the code was cancelled');
      this.end(
        waiting,
        'cancelled',
        new LinkError('code_expired', 'Too many wrong codes were entered on the pairing page, so the code was cancelled. Start linking again.'),
      );
    }
    this.log(`pairing page: wrong code from ${address}${cancelledCodes ? `; ${cancelledCodes} code(s) cancelled` : ''}`);
    return cancelledCodes;
  }

  private async begin(
    context: LinkingContext,
    target: { publicUrl: string; redirectUri: string; hubCallback: string } & Pick<PairingMethodOptions, 'source' | 'codeStyle'>,
  ): Promise<LinkingSession> {
    const { provider, clock, signal, log } = context;
    if (signal.aborted) throw signal.reason;
    const authorizationEndpoint = provider.config.serverMetadata().authorization_endpoint;
    if (!authorizationEndpoint) throw new LinkError('config', 'The pairing flow needs an authorization endpoint.');
    const refusal = redirectUriProblem(provider.profile.kind, target.redirectUri, this.httpNodeRoot);
    if (refusal) throw refusal;
    this.authorizationOriginSet.add(new URL(authorizationEndpoint).origin);

    const code = this.uniqueCode(target.codeStyle);
    const now = clock.now();
    let resolve!: PairingAttempt['resolve'];
    let reject!: PairingAttempt['reject'];
    const tokens = new Promise<oauth.TokenEndpointResponse>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // The Link attaches its handlers after this method resolves; never leave a rejection unobserved.
    tokens.catch(() => undefined);
    const attempt: PairingAttempt = {
      id: randomBytes(16).toString('base64url'),
      code,
      status: 'waiting',
      wrongTries: 0,
      deadline: now + CODE_LIFETIME_MS,
      expiresAt: now + CODE_LIFETIME_MS,
      provider,
      clock,
      signal,
      log,
      redirectUri: target.redirectUri,
      hubCallback: target.hubCallback,
      source: target.source,
      timer: undefined,
      state: null,
      verifier: null,
      resolve,
      reject,
      onAbort: () => this.end(attempt, 'cancelled', cancelledError(signal)),
    };
    this.attempts.set(attempt.id, attempt);
    this.byCode.set(code, attempt);
    signal.addEventListener('abort', attempt.onAbort, { once: true });
    this.arm(attempt);
    const verificationUri = `${target.publicUrl}${this.httpNodeRoot}link`;
    const userCode = formatCode(code);
    log(`pairing code made; open ${verificationUri} (redirect URI ${target.redirectUri})`);
    return {
      userCode,
      verificationUri,
      verificationUriComplete: `${verificationUri}?user_code=${userCode}`,
      expiresAt: attempt.expiresAt,
      tokens,
    };
  }

  /** (Re)arms the attempt's one timer for its deadline. */
  private arm(attempt: PairingAttempt): void {
    if (attempt.timer) attempt.clock.clearTimer(attempt.timer);
    attempt.timer = attempt.clock.setTimer(Math.max(0, attempt.deadline - attempt.clock.now()), () => {
      attempt.timer = undefined;
      if (attempt.status === 'exchanging') return;
      attempt.log(attempt.status === 'waiting' ? 'the pairing code expired' : 'the sign-in did not come back in time');
      this.end(attempt, 'expired', codeExpired());
    });
  }

  /** Forgets an attempt and settles its tokens promise (with `tokens`, or `error` when given). */
  private end(
    attempt: PairingAttempt,
    retireAs: RetiredReason | null,
    error: LinkError | null,
    tokens?: oauth.TokenEndpointResponse,
  ): void {
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

  private retire(code: string, reason: RetiredReason, until: number): void {
    this.retired.set(code, { reason, until: Math.max(until, this.clock.now()) + CODE_LIFETIME_MS });
  }

  private pruneRetired(): void {
    const now = this.clock.now();
    for (const [code, entry] of this.retired) if (entry.until <= now) this.retired.delete(code);
  }

  private uniqueCode(style: CodeStyle | undefined): string {
    for (;;) {
      const code = randomCode(style);
      if (!this.byCode.has(code) && !this.retired.has(code)) return code;
    }
  }

  private rateLimited(address: string): (CodeResult & { kind: 'rate_limited' }) | null {
    const waitMs = this.limiter.waitFor(address);
    return waitMs === null ? null : { kind: 'rate_limited', retryAfterMs: waitMs };
  }
}
