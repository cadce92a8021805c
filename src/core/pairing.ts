import { randomBytes } from 'node:crypto';
import type * as oauth from 'openid-client';
import { AddressLimiter } from './address-limiter.js';
import { systemClock, type Clock } from './clock.js';
import type { LinkingContext, LinkingMethod, LinkingSession } from './device-flow.js';
import { codeExpired, LinkError, toLinkError } from './errors.js';
import { PairingBook } from './pairing-book.js';
import { CODE_LIFETIME_MS, formatCode, normalizeCode } from './pairing-codes.js';
import { redirectUriProblem } from './profiles/index.js';
import { loopbackHandOver, normalizeRoot, responseFromPastedAddress, webOrigin } from './redirects.js';
import {
  cancelledError,
  checkedPublicUrl,
  confirmationOf,
  describeExchangeFailure,
  describeProviderError,
  exchangeCode,
  readAccount,
  waitForOutcome,
} from './pairing-attempt.js';
import type {
  AuthorizeResult,
  CallbackResult,
  CodeResult,
  PairingAttempt,
  PairingClient,
  PairingConfirmation,
  PairingCoordinatorOptions,
  PairingMethodOptions,
  PairingStatus,
} from './pairing-types.js';
import { browserKeyHash, browserKeyMatches, newBrowserKey, sameText, StateSigner } from './signed-state.js';
import { openidClient } from './on-first-use.js';

/**
 * The hub's own verification page for providers without a device flow (Spotify).
 *
 * The hub plays the provider's part of RFC 8628: a `PairingCoordinator` makes the short code a
 * person types on the hub's page. A right code binds the attempt to that browser (its browser key,
 * the pairing cookie) and shows what is being authorized; the browser's Continue turns it into an
 * authorization-code + PKCE request at the provider, and only that browser may bring the answer
 * back. Each Link gets its LinkingMethod from `coordinator.method({...})`; the page (src/web) calls
 * `submitCode`, `authorize` and `complete`. Nothing here knows about HTTP servers or Node-RED.
 */

/** Once a valid code is entered, the person has this long to sign in and approve at the provider. */
export const AUTHORIZE_WINDOW_MS = 10 * 60_000;
/** Wrong codes, from all addresses together, after which a waiting code dies. */
export const WRONG_CODES_PER_CODE = 20;
/** Failures after which one address must wait until the oldest leaves the window. */
export const FAILURES_PER_ADDRESS = 5;
export const ADDRESS_WINDOW_MS = 15 * 60_000;

/** Makes pairing codes, checks them, and turns approvals into tokens for the Links waiting on them. */
export class PairingCoordinator {
  readonly httpNodeRoot: string;
  private readonly signer: StateSigner;
  private readonly clock: Clock;
  private readonly log: (message: string) => void;
  private readonly wrongCodesPerCode: number;
  private readonly limiter: AddressLimiter;
  private readonly book: PairingBook;
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
    this.book = new PairingBook(this.clock);
  }

  /**
   * The LinkingMethod for one Link: `new Link({..., pairing: coordinator.method({publicUrl, redirectUri})})`.
   * Each call of the method makes a fresh code.
   */
  method(options: PairingMethodOptions): LinkingMethod {
    const publicUrl = checkedPublicUrl(options.publicUrl);
    const hubCallback = `${publicUrl}${this.httpNodeRoot}link/callback`;
    const redirectUri = options.redirectUri?.trim() || hubCallback;
    return (context) => this.begin(context, { ...options, publicUrl, redirectUri, hubCallback });
  }

  /** Codes waiting to be entered or sign-ins waiting to come back. */
  get pendingCount(): number {
    return this.book.size;
  }

  /** Origins of the authorization endpoints seen so far (the page's CSP `form-action` must allow them). */
  authorizationOrigins(): string[] {
    return [...this.authorizationOriginSet];
  }

  /** What the browser holding `browserKey` entered a code for and may (again) continue to the provider. */
  confirmation(browserKey: string | null): PairingConfirmation | null {
    const attempt = this.book.boundTo(browserKey);
    return attempt && attempt.status !== 'exchanging' ? confirmationOf(attempt) : null;
  }

  /**
   * Checks a code typed on the page by `client`. A valid code is used up and binds the attempt to
   * the client's browser key (a new one unless the browser already holds one of a live attempt).
   * A wrong code counts against the address and against every code waiting (a guess could be aimed
   * at any of them); an address that reaches its limit is told to wait, right code or not.
   */
  async submitCode(input: string, client: PairingClient): Promise<CodeResult> {
    const limited = this.rateLimited(client.address);
    if (limited) return limited;
    const code = normalizeCode(input);
    if (!code) return { kind: 'malformed' };

    const attempt = this.book.waiting(code);
    if (!attempt) {
      // The browser that entered this code may enter it again (a reload, a second tab).
      const own = this.book.boundTo(client.browserKey, code);
      if (own && own.status !== 'exchanging') return { kind: 'confirm', confirmation: confirmationOf(own), browserKey: client.browserKey! };
      const retired = this.book.retiredReason(code);
      if (retired) return { kind: retired };
      this.limiter.recordFailure(client.address);
      const cancelledCodes = this.countWrongCode(client.address);
      return this.rateLimited(client.address) ?? { kind: 'wrong', cancelledCodes };
    }
    if (attempt.clock.now() >= attempt.expiresAt) {
      this.book.end(attempt, 'expired', codeExpired());
      return { kind: 'expired' };
    }

    // Single use: from here on the code is gone, whatever happens at the provider.
    this.book.useCode(attempt);
    const keepKey = client.browserKey && this.book.boundTo(client.browserKey) ? client.browserKey : null;
    const browserKey = keepKey ?? newBrowserKey();
    attempt.status = 'confirming';
    attempt.browserHash = browserKeyHash(browserKey);
    attempt.enteredAt = webOrigin(client.origin);
    attempt.deadline = attempt.clock.now() + AUTHORIZE_WINDOW_MS;
    this.book.arm(attempt);
    attempt.log('code entered on the pairing page; waiting for the person to continue to the provider');
    this.reportProgress(attempt);
    return { kind: 'confirm', confirmation: confirmationOf(attempt), browserKey };
  }

  /**
   * The Continue button: a fresh PKCE verifier and signed single-use `state` (bound to the browser
   * key) for the attempt `attemptId`, and the provider's authorization URL. Pressed again (after a
   * refusal at the provider, or the back button), it voids the earlier state.
   */
  async authorize(attemptId: string, client: PairingClient): Promise<AuthorizeResult> {
    const attempt = this.book.get(String(attemptId ?? ''));
    if (!attempt || attempt.status === 'waiting' || attempt.status === 'exchanging') return { kind: 'gone' };
    if (!browserKeyMatches(client.browserKey, attempt.browserHash)) {
      this.log(`pairing page: Continue from a browser that did not enter the code (${client.address})`);
      return { kind: 'not_bound' };
    }
    if (attempt.clock.now() >= attempt.deadline) return { kind: 'gone' };
    const verifier = openidClient().randomPKCECodeVerifier();
    const state = this.signer.sign({ a: attempt.id, h: attempt.hubCallback, b: attempt.browserHash! });
    let authorizationUrl: URL;
    try {
      authorizationUrl = openidClient().buildAuthorizationUrl(attempt.provider.config, {
        ...attempt.provider.profile.authorizeParams,
        redirect_uri: attempt.redirectUri,
        scope: attempt.provider.scope,
        code_challenge: await openidClient().calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
    } catch (err) {
      this.book.end(attempt, 'cancelled', toLinkError(err, attempt.provider.displayName));
      throw err;
    }
    // The previous state's answer may have arrived meanwhile.
    const status = attempt.status as PairingStatus;
    if (!this.book.has(attempt) || status === 'exchanging') return { kind: 'gone' };
    attempt.status = 'authorizing';
    attempt.state = state;
    attempt.verifier = verifier;
    attempt.log('continued to the provider; waiting for the sign-in');
    return { kind: 'redirect', authorizationUrl: authorizationUrl.href };
  }

  /**
   * Finishes a sign-in: `response` holds the parameters the provider put on the redirect URI
   * (`code`, `state`, `iss` or `error`). Checks the signed single-use state and that `client` is the
   * browser that entered the code, exchanges the code with the PKCE verifier and hands the tokens
   * to the waiting Link. A refusal at the provider or a failed exchange leaves the attempt usable:
   * the same browser may continue again until it expires.
   */
  async complete(response: URLSearchParams, client: PairingClient): Promise<CallbackResult> {
    const limited = this.rateLimited(client.address);
    if (limited) return limited;
    const state = response.get('state');
    if (!state || (!response.get('code') && !response.get('error'))) return { kind: 'missing_response' };
    const claims = this.signer.verify(state);
    if (!claims) {
      this.limiter.recordFailure(client.address);
      this.log(`pairing page: a sign-in answer with an invalid state came from ${client.address}`);
      return { kind: 'invalid_state' };
    }
    const attempt = this.book.get(claims.a);
    if (!attempt || attempt.status !== 'authorizing' || !attempt.state || !sameText(attempt.state, state)) {
      this.limiter.recordFailure(client.address);
      this.log(`pairing page: a used or expired sign-in answer came from ${client.address}`);
      return { kind: 'state_used' };
    }
    if (!browserKeyMatches(client.browserKey, claims.b)) {
      const origin = loopbackHandOver(attempt.redirectUri, attempt.enteredAt, client.origin);
      if (origin) return { kind: 'elsewhere', origin };
      this.log(`pairing page: a sign-in answer came from a browser that did not enter the code (${client.address}); nothing changed`);
      return { kind: 'not_bound' };
    }
    attempt.status = 'exchanging';
    const provider = attempt.provider.displayName;
    const failed = (error: LinkError, endAttempt = true): CallbackResult => {
      if (endAttempt) this.book.end(attempt, null, error);
      return { kind: 'failed', provider, error, redirectUri: attempt.redirectUri, retry: null };
    };
    if (attempt.clock.now() >= attempt.deadline) return failed(codeExpired());

    const providerError = response.get('error');
    if (providerError) {
      attempt.log(`the provider answered the sign-in with "${providerError}"`);
      const described = describeProviderError(attempt.provider, providerError, response.get('error_description') ?? undefined, attempt.redirectUri, this.httpNodeRoot);
      return this.tryAgainLater(attempt, described);
    }

    let tokens: oauth.TokenEndpointResponse;
    try {
      tokens = await exchangeCode(attempt, response, state);
    } catch (err) {
      const problem = describeExchangeFailure(attempt, err, this.httpNodeRoot);
      attempt.log(`exchanging the code failed (${problem.code})`);
      return this.book.has(attempt) ? this.tryAgainLater(attempt, problem) : failed(cancelledError(attempt.signal), false);
    }
    // Cancelled or closed while the code was being exchanged.
    if (!this.book.has(attempt)) return failed(cancelledError(attempt.signal), false);

    const source = attempt.source?.();
    const outcome = source ? waitForOutcome(source, attempt.clock, attempt.signal) : undefined;
    const account = source ? null : await readAccount(attempt, tokens).catch((err: LinkError) => err);
    this.book.end(attempt, null, null, tokens);
    if (account instanceof LinkError) return failed(account, false);
    if (!outcome) return { kind: 'linked', provider, account };

    const snapshot = await outcome;
    if (!snapshot) return failed(cancelledError(attempt.signal), false);
    if (snapshot.state === 'linked' && !snapshot.error) return { kind: 'linked', provider, account: snapshot.account };
    const error = snapshot.error
      ? new LinkError(snapshot.error.code, snapshot.error.message)
      : new LinkError('provider_error', 'Linking did not finish.');
    return failed(error, false);
  }

  /**
   * The paste step: `pasted` is the address the browser ended on (a loopback redirect URI that
   * cannot load on a phone). Accepts a full URL or just its query.
   */
  completePasted(pasted: string, client: PairingClient): Promise<CallbackResult> {
    return this.complete(responseFromPastedAddress(pasted), client);
  }

  /** The sign-in failed at the provider: the attempt goes back to its confirmation, usable until it expires. */
  private tryAgainLater(attempt: PairingAttempt, error: LinkError): CallbackResult {
    const provider = attempt.provider.displayName;
    if (attempt.clock.now() >= attempt.deadline) {
      this.book.end(attempt, null, error);
      return { kind: 'failed', provider, error, redirectUri: attempt.redirectUri, retry: null };
    }
    attempt.status = 'confirming';
    attempt.state = null;
    attempt.verifier = null;
    attempt.lastError = error;
    this.reportProgress(attempt);
    return { kind: 'failed', provider, error, redirectUri: attempt.redirectUri, retry: confirmationOf(attempt) };
  }

  /** Tells the Link that its code was used and what the sign-in waits for. */
  private reportProgress(attempt: PairingAttempt): void {
    try {
      attempt.progress?.({ waitingFor: 'sign_in', expiresAt: attempt.deadline, error: attempt.lastError });
    } catch (err) {
      attempt.log(`a listener failed: ${(err as Error).message}`);
    }
  }

  /** A wrong code counts against every code waiting; the ones that reach the limit die. Returns how many. */
  private countWrongCode(address: string): number {
    let cancelledCodes = 0;
    for (const waiting of this.book.allWaiting()) {
      waiting.wrongTries++;
      if (waiting.wrongTries < this.wrongCodesPerCode) continue;
      cancelledCodes++;
      waiting.log('too many wrong codes were entered on the pairing page; the code was cancelled');
      this.book.end(
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
    target: PairingMethodOptions & { publicUrl: string; redirectUri: string; hubCallback: string },
  ): Promise<LinkingSession> {
    const { provider, clock, signal, log } = context;
    if (signal.aborted) throw signal.reason;
    const authorizationEndpoint = provider.config.serverMetadata().authorization_endpoint;
    if (!authorizationEndpoint) throw new LinkError('config', 'The pairing flow needs an authorization endpoint.');
    const refusal = redirectUriProblem(provider.profile.kind, target.redirectUri, this.httpNodeRoot);
    if (refusal) throw refusal;
    this.authorizationOriginSet.add(new URL(authorizationEndpoint).origin);

    const code = this.book.uniqueCode(target.codeStyle);
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
      createdAt: now,
      expiresAt: now + CODE_LIFETIME_MS,
      provider,
      clock,
      signal,
      log,
      progress: context.progress,
      linkName: target.linkName?.trim() || context.slug || provider.displayName,
      redirectUri: target.redirectUri,
      hubCallback: target.hubCallback,
      source: target.source,
      timer: undefined,
      browserHash: null,
      enteredAt: null,
      lastError: null,
      state: null,
      verifier: null,
      resolve,
      reject,
      onAbort: () => this.book.end(attempt, 'cancelled', cancelledError(signal)),
    };
    this.book.add(attempt);
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

  private rateLimited(address: string): (CodeResult & { kind: 'rate_limited' }) | null {
    const waitMs = this.limiter.waitFor(address);
    return waitMs === null ? null : { kind: 'rate_limited', retryAfterMs: waitMs };
  }
}
