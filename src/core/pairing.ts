import { createHmac, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import * as oauth from 'openid-client';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import type { LinkingContext, LinkingMethod, LinkingSession } from './device-flow.js';
import { codeExpired, LinkError, oauthError, toLinkError } from './errors.js';
import type { Account, Provider } from './providers.js';
import type { Snapshot } from './snapshot.js';

/**
 * The hub's own verification page for providers without a device flow (Spotify), DESIGN §6.
 *
 * The hub plays the provider's part of RFC 8628: a `PairingCoordinator` makes the short code a
 * person types on the hub's page, and turns a valid code into an authorization-code + PKCE request
 * at the provider. Each Link gets its LinkingMethod from `coordinator.method({...})`; the page
 * (src/web) calls `submitCode` and `complete`. Nothing here knows about HTTP servers or Node-RED.
 */

/** Letters without vowels (no words) and without look-alikes of digits: DESIGN §6. */
export const CODE_ALPHABET = 'BCDFGHJKLMNPQRSTVWXZ';
export const CODE_LENGTH = 8;
export const CODE_LIFETIME_MS = 10 * 60_000;
/** Once a valid code is entered, the person has this long to sign in and approve at the provider. */
export const AUTHORIZE_WINDOW_MS = 10 * 60_000;
export const WRONG_CODES_PER_CODE = 5;
export const FAILURES_PER_ADDRESS = 10;
export const ADDRESS_WINDOW_MS = 15 * 60_000;
/** How long the callback page waits for the Link to store the tokens and read the account. */
const OUTCOME_WAIT_MS = 60_000;
const MAX_TRACKED_ADDRESSES = 1000;

export interface PairingCoordinatorOptions {
  /** Node-RED's `httpNodeRoot` ('/' by default): the page lives at `<root>link`. */
  httpNodeRoot?: string;
  /** Key that signs `state`. Default: 32 random bytes for this process (a restart voids open sign-ins, as it voids codes). */
  stateKey?: Uint8Array;
  /** Times the per-address limit. Attempts use the Clock of their LinkingContext. */
  clock?: Clock;
  /** Lines for the runtime log. Never given a code, token, verifier or state. */
  log?: (message: string) => void;
  limits?: {
    wrongCodesPerCode?: number;
    failuresPerAddress?: number;
    addressWindowMs?: number;
  };
}

/** Something that emits the Link's snapshots (a `Link`): lets the callback page report how linking ended. */
export interface SnapshotSource {
  on(event: 'snapshot', listener: (snapshot: Snapshot) => void): unknown;
  off(event: 'snapshot', listener: (snapshot: Snapshot) => void): unknown;
}

export interface PairingMethodOptions {
  /** How a phone reaches the hub, e.g. `http://192.168.1.20:1880` (see `defaultPublicUrl` in src/web). */
  publicUrl: string;
  /** The redirect URI registered at the provider. Default `<publicUrl><httpNodeRoot>link/callback`. */
  redirectUri?: string;
  /**
   * The Link using this method, read when a sign-in comes back. With it the page says "Linked as …"
   * only once the Link has stored the tokens; without it the page reads the account itself.
   */
  link?: () => SnapshotSource | undefined;
}

/** What the page does after a code was entered. */
export type CodeResult =
  | { kind: 'redirect'; authorizationUrl: string }
  | { kind: 'malformed' }
  | { kind: 'wrong'; cancelledCodes: number }
  | { kind: 'no_pending' }
  | { kind: 'used' }
  | { kind: 'expired' }
  | { kind: 'cancelled' }
  | { kind: 'rate_limited'; retryAfterMs: number };

/** What the page shows after the provider sent the person back. */
export type CallbackResult =
  | { kind: 'linked'; provider: string; account: Account | null }
  | { kind: 'failed'; provider: string; error: LinkError; redirectUri: string }
  | { kind: 'invalid_state' }
  | { kind: 'state_used' }
  | { kind: 'missing_response' }
  | { kind: 'rate_limited'; retryAfterMs: number };

type AttemptStatus = 'waiting' | 'authorizing' | 'exchanging';

interface Attempt {
  id: string;
  code: string;
  status: AttemptStatus;
  wrongTries: number;
  /** Epoch ms (the attempt's clock) after which neither the code nor a sign-in is accepted. */
  deadline: number;
  expiresAt: number;
  provider: Provider;
  clock: Clock;
  signal: AbortSignal;
  log: (message: string) => void;
  redirectUri: string;
  hubCallback: string;
  link: (() => SnapshotSource | undefined) | undefined;
  timer: TimerHandle | undefined;
  state: string | null;
  verifier: string | null;
  resolve: (response: oauth.TokenEndpointResponse) => void;
  reject: (error: LinkError) => void;
  onAbort: () => void;
}

type RetiredReason = 'used' | 'expired' | 'cancelled';

/** Makes pairing codes, checks them, and turns approvals into tokens for the Links waiting on them. */
export class PairingCoordinator {
  readonly httpNodeRoot: string;
  private readonly stateKey: Uint8Array;
  private readonly clock: Clock;
  private readonly log: (message: string) => void;
  private readonly wrongCodesPerCode: number;
  private readonly failuresPerAddress: number;
  private readonly addressWindowMs: number;
  private readonly attempts = new Map<string, Attempt>();
  private readonly byCode = new Map<string, Attempt>();
  /** Codes no longer valid, kept until they would have expired, so the page can say why. */
  private readonly retired = new Map<string, { reason: RetiredReason; until: number }>();
  private readonly failures = new Map<string, number[]>();
  private readonly authorizationOriginSet = new Set<string>();

  constructor(options: PairingCoordinatorOptions = {}) {
    this.httpNodeRoot = normalizeRoot(options.httpNodeRoot);
    this.stateKey = options.stateKey ?? randomBytes(32);
    this.clock = options.clock ?? systemClock;
    this.log = options.log ?? (() => undefined);
    this.wrongCodesPerCode = options.limits?.wrongCodesPerCode ?? WRONG_CODES_PER_CODE;
    this.failuresPerAddress = options.limits?.failuresPerAddress ?? FAILURES_PER_ADDRESS;
    this.addressWindowMs = options.limits?.addressWindowMs ?? ADDRESS_WINDOW_MS;
  }

  /**
   * The LinkingMethod for one Link: `new Link({..., pairing: coordinator.method({publicUrl, redirectUri})})`.
   * Each call of the method makes a fresh code.
   */
  method(options: PairingMethodOptions): LinkingMethod {
    const publicUrl = checkedPublicUrl(options.publicUrl);
    const hubCallback = `${publicUrl}${this.httpNodeRoot}link/callback`;
    const redirectUri = options.redirectUri?.trim() || hubCallback;
    return (context) => this.begin(context, { publicUrl, redirectUri, hubCallback, link: options.link });
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
      this.recordFailure(address);
      if (this.byCode.size === 0) return { kind: 'no_pending' };
      let cancelledCodes = 0;
      for (const waiting of [...this.byCode.values()]) {
        waiting.wrongTries++;
        if (waiting.wrongTries >= this.wrongCodesPerCode) {
          cancelledCodes++;
          waiting.log('too many wrong codes were entered on the pairing page; the code was cancelled');
          this.end(
            waiting,
            'cancelled',
            new LinkError(
              'code_expired',
              'Too many wrong codes were entered on the pairing page, so the code was cancelled. Start linking again.',
            ),
          );
        }
      }
      this.log(`pairing page: wrong code from ${address}${cancelledCodes ? `; ${cancelledCodes} code(s) cancelled` : ''}`);
      return { kind: 'wrong', cancelledCodes };
    }
    if (attempt.clock.now() >= attempt.expiresAt) {
      this.end(attempt, 'expired', codeExpired());
      return { kind: 'expired' };
    }

    // Single use: from here on the code is gone, whatever happens at the provider.
    this.byCode.delete(code);
    this.retire(code, 'used', attempt.expiresAt);
    const verifier = oauth.randomPKCECodeVerifier();
    const state = this.signState({ a: attempt.id, n: randomBytes(12).toString('base64url'), h: attempt.hubCallback });
    let authorizationUrl: URL;
    try {
      const challenge = await oauth.calculatePKCECodeChallenge(verifier);
      authorizationUrl = oauth.buildAuthorizationUrl(attempt.provider.config, {
        redirect_uri: attempt.redirectUri,
        scope: attempt.provider.scope,
        code_challenge: challenge,
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
    const claims = this.verifyState(state);
    if (!claims) {
      this.recordFailure(address);
      this.log(`pairing page: a sign-in answer with an invalid state came from ${address}`);
      return { kind: 'invalid_state' };
    }
    const attempt = this.attempts.get(claims.a);
    if (!attempt || attempt.status !== 'authorizing' || !attempt.state || !sameText(attempt.state, state)) {
      this.recordFailure(address);
      this.log(`pairing page: a used or expired sign-in answer came from ${address}`);
      return { kind: 'state_used' };
    }
    attempt.status = 'exchanging';
    const provider = attempt.provider;
    const failed = (error: LinkError): CallbackResult => {
      this.end(attempt, null, error);
      return { kind: 'failed', provider: provider.displayName, error, redirectUri: attempt.redirectUri };
    };
    if (attempt.clock.now() >= attempt.deadline) return failed(codeExpired());

    const providerError = response.get('error');
    if (providerError) {
      attempt.log(`the provider answered the sign-in with "${providerError}"`);
      return failed(
        describedError(providerError, response.get('error_description') ?? undefined, provider, attempt.redirectUri, this.httpNodeRoot),
      );
    }

    // openid-client takes the redirect_uri for the token request from this URL: it must be the
    // registered one even when the answer arrived through the relay page or was pasted.
    const currentUrl = new URL(attempt.redirectUri);
    currentUrl.search = '';
    currentUrl.hash = '';
    for (const [name, value] of response) currentUrl.searchParams.append(name, value);
    let tokens: oauth.TokenEndpointResponse;
    try {
      tokens = await oauth.authorizationCodeGrant(provider.config, currentUrl, {
        pkceCodeVerifier: attempt.verifier ?? undefined,
        expectedState: state,
      });
    } catch (err) {
      const problem = pairingError(err, provider, attempt.redirectUri, this.httpNodeRoot);
      attempt.log(`exchanging the code failed (${problem.code})`);
      return failed(problem);
    }
    if (!this.attempts.has(attempt.id)) {
      // Cancelled or closed while the code was being exchanged.
      return { kind: 'failed', provider: provider.displayName, error: cancelledError(attempt.signal), redirectUri: attempt.redirectUri };
    }

    const source = attempt.link?.();
    if (source) {
      const outcome = waitForOutcome(source, attempt.clock, attempt.signal);
      this.end(attempt, null, null, tokens);
      const snapshot = await outcome;
      if (!snapshot) {
        return { kind: 'failed', provider: provider.displayName, error: cancelledError(attempt.signal), redirectUri: attempt.redirectUri };
      }
      if (snapshot.state === 'linked' && !snapshot.error) {
        return { kind: 'linked', provider: provider.displayName, account: snapshot.account };
      }
      const error = snapshot.error
        ? new LinkError(snapshot.error.code, snapshot.error.message)
        : new LinkError('provider_error', 'Linking did not finish.');
      return { kind: 'failed', provider: provider.displayName, error, redirectUri: attempt.redirectUri };
    }

    let account: Account | null = null;
    try {
      account = await provider.fetchAccount(tokens.access_token);
    } catch (err) {
      const problem = toLinkError(err, provider.displayName);
      if (problem.code === 'user_not_registered') {
        this.end(attempt, null, null, tokens);
        return { kind: 'failed', provider: provider.displayName, error: problem, redirectUri: attempt.redirectUri };
      }
    }
    this.end(attempt, null, null, tokens);
    return { kind: 'linked', provider: provider.displayName, account };
  }

  /**
   * The paste step: `pasted` is the address the browser ended on (a loopback redirect URI that
   * cannot load on a phone). Accepts a full URL or just its query.
   */
  completePasted(pasted: string, address: string): Promise<CallbackResult> {
    return this.complete(responseFromPastedAddress(pasted), address);
  }

  private async begin(
    context: LinkingContext,
    target: { publicUrl: string; redirectUri: string; hubCallback: string; link: PairingMethodOptions['link'] },
  ): Promise<LinkingSession> {
    const { provider, clock, signal, log } = context;
    if (signal.aborted) throw signal.reason;
    const authorizationEndpoint = provider.config.serverMetadata().authorization_endpoint;
    if (!authorizationEndpoint) throw new LinkError('config', 'The pairing flow needs an authorization endpoint.');
    checkRedirectUri(target.redirectUri, provider, this.httpNodeRoot);
    this.authorizationOriginSet.add(new URL(authorizationEndpoint).origin);

    const code = this.uniqueCode();
    const now = clock.now();
    let resolve!: Attempt['resolve'];
    let reject!: Attempt['reject'];
    const tokens = new Promise<oauth.TokenEndpointResponse>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // The Link attaches its handlers after this method resolves; never leave a rejection unobserved.
    tokens.catch(() => undefined);
    const attempt: Attempt = {
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
      link: target.link,
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
  private arm(attempt: Attempt): void {
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
    attempt: Attempt,
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

  private uniqueCode(): string {
    for (;;) {
      const code = randomCode();
      if (!this.byCode.has(code) && !this.retired.has(code)) return code;
    }
  }

  private rateLimited(address: string): CodeResult & { kind: 'rate_limited' } | null {
    const now = this.clock.now();
    const recent = (this.failures.get(address) ?? []).filter((at) => at > now - this.addressWindowMs);
    if (recent.length === 0) this.failures.delete(address);
    else this.failures.set(address, recent);
    if (recent.length < this.failuresPerAddress) return null;
    return { kind: 'rate_limited', retryAfterMs: recent[0] + this.addressWindowMs - now };
  }

  private recordFailure(address: string): void {
    const now = this.clock.now();
    const recent = this.failures.get(address) ?? [];
    recent.push(now);
    this.failures.delete(address);
    this.failures.set(address, recent.slice(-this.failuresPerAddress));
    if (this.failures.size > MAX_TRACKED_ADDRESSES) {
      // Oldest entries first (Map keeps insertion order, and a touched address moves to the end).
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  private signState(claims: StateClaims): string {
    const payload = Buffer.from(JSON.stringify({ v: 1, ...claims })).toString('base64url');
    return `${payload}.${this.mac(payload)}`;
  }

  private verifyState(state: string): StateClaims | null {
    if (state.length > 2048) return null;
    const [payload, mac, extra] = state.split('.');
    if (!payload || !mac || extra !== undefined) return null;
    if (!sameText(this.mac(payload), mac)) return null;
    try {
      const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Partial<StateClaims> & { v?: unknown };
      if (claims.v !== 1 || typeof claims.a !== 'string' || typeof claims.h !== 'string') return null;
      return { a: claims.a, n: String(claims.n ?? ''), h: claims.h };
    } catch {
      return null;
    }
  }

  private mac(payload: string): string {
    return createHmac('sha256', this.stateKey).update(payload).digest('base64url');
  }
}

/** What a signed state carries: the attempt, a nonce, and the hub's callback address (for the relay page). */
interface StateClaims {
  a: string;
  n: string;
  h: string;
}

/** Reads the hub address a state carries, without checking its signature (what the relay page does). */
export function hubAddressInState(state: string): string | null {
  try {
    const claims = JSON.parse(Buffer.from(state.split('.')[0] ?? '', 'base64url').toString('utf8')) as { h?: unknown };
    return typeof claims.h === 'string' ? claims.h : null;
  } catch {
    return null;
  }
}

/** A code from the CSPRNG: `randomInt` draws by rejection, so every letter is equally likely. */
export function randomCode(): string {
  let code = '';
  for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
  return code;
}

/** `BDWPHQPK` → `BDWP-HQPK`. */
export function formatCode(code: string): string {
  return `${code.slice(0, 4)}-${code.slice(4)}`;
}

/** What a person typed, as a bare upper-case code; null when it cannot be a code at all. */
export function normalizeCode(input: string): string | null {
  if (typeof input !== 'string' || input.length > 64) return null;
  const bare = input.toUpperCase().replace(/[\s\-‐‑‒–—_.]/g, '');
  if (bare.length !== CODE_LENGTH) return null;
  for (const letter of bare) if (!CODE_ALPHABET.includes(letter)) return null;
  return bare;
}

/** The query of a pasted address (full URL, `?query`, or bare query). */
export function responseFromPastedAddress(pasted: string): URLSearchParams {
  const text = String(pasted ?? '').trim().slice(0, 4096);
  try {
    const url = new URL(text);
    const params = new URLSearchParams(url.search);
    // Some providers answer in the fragment (response_mode=fragment); accept it too.
    if (!params.has('state') && url.hash.length > 1) return new URLSearchParams(url.hash.slice(1));
    return params;
  } catch {
    const query = text.includes('?') ? text.slice(text.indexOf('?') + 1) : text;
    return new URLSearchParams(query.split('#')[0]);
  }
}

/** `http://127.0.0.1:…`, `http://[::1]:…` or `http://localhost:…`. */
export function isLoopbackRedirect(uri: string): boolean {
  try {
    const host = new URL(uri).hostname.replace(/^\[|\]$/g, '');
    return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === 'localhost';
  } catch {
    return false;
  }
}

/** Adds the leading and trailing slash Node-RED's `httpNodeRoot` may lack. */
export function normalizeRoot(root: string | undefined): string {
  const trimmed = (root ?? '/').trim();
  return `/${trimmed.replace(/^\/+|\/+$/g, '')}/`.replace(/^\/\/$/, '/');
}

function checkedPublicUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(String(value ?? '').trim());
  } catch {
    throw new LinkError('config', `The public URL "${String(value)}" is not a valid address (like http://192.168.1.20:1880).`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LinkError('config', 'The public URL must start with http:// or https://.');
  }
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}

/**
 * Refuses, before a code is shown, redirect URIs the provider is known to refuse. Spotify takes
 * only https, or http on an explicit loopback IP (not `localhost`).
 */
function checkRedirectUri(redirectUri: string, provider: Provider, httpNodeRoot: string): void {
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    throw new LinkError('config', `The redirect URI "${redirectUri}" is not a valid address.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new LinkError('config', 'The redirect URI must start with https:// (or http:// for the hub on the home network).');
  }
  if (provider.kind !== 'spotify' || url.protocol === 'https:') return;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (/^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1') return;
  throw insecureRedirect(redirectUri, httpNodeRoot);
}

/** `http://127.0.0.1:<port><httpNodeRoot>link/callback`: the redirect URI for a hub without https. */
export function loopbackRedirectUri(port: number | string, httpNodeRoot = '/'): string {
  return `http://127.0.0.1:${port}${normalizeRoot(httpNodeRoot)}link/callback`;
}

/** The loopback redirect URI on the same port as `redirectUri` (1880 when it names none). */
export function suggestedLoopbackRedirect(redirectUri: string, httpNodeRoot = '/'): string {
  let port = '1880';
  try {
    port = new URL(redirectUri).port || port;
  } catch {
    // keep Node-RED's default port
  }
  return loopbackRedirectUri(port, httpNodeRoot);
}

function insecureRedirect(redirectUri: string, httpNodeRoot: string): LinkError {
  return new LinkError(
    'insecure_redirect_uri',
    `Spotify refuses the redirect URI ${redirectUri}: it accepts only https addresses, or http on 127.0.0.1. ` +
      `Set the account-link node's Redirect URI to ${suggestedLoopbackRedirect(redirectUri, httpNodeRoot)}, add exactly that in the ` +
      'Spotify Developer Dashboard (app settings, Redirect URIs), and paste the address your phone ends on into the ' +
      'pairing page; or give the hub an https address.',
  );
}

/**
 * Token-endpoint errors with what to do about them. Spotify reports a redirect URI it does not know
 * as `INVALID_CLIENT: Invalid redirect URI` (or `invalid_grant` "Invalid redirect URI"), and an
 * http one as `Insecure redirect URI`.
 */
export function pairingError(err: unknown, provider: Provider, redirectUri: string, httpNodeRoot = '/'): LinkError {
  if (err instanceof oauth.ResponseBodyError) {
    return describedError(err.error, err.error_description, provider, redirectUri, httpNodeRoot);
  }
  if (err instanceof oauth.AuthorizationResponseError) {
    return describedError(err.error, err.error_description, provider, redirectUri, httpNodeRoot);
  }
  const found = toLinkError(err, provider.displayName);
  return redirectProblem(found.message, provider, redirectUri, httpNodeRoot) ?? found;
}

/** An OAuth `error` (+ description) from the token endpoint or the redirect, as a LinkError. */
export function describedError(
  error: string,
  description: string | undefined,
  provider: Provider,
  redirectUri: string,
  httpNodeRoot = '/',
): LinkError {
  return redirectProblem(`${error} ${description ?? ''}`, provider, redirectUri, httpNodeRoot) ?? oauthError(error, description, provider.displayName);
}

function redirectProblem(text: string, provider: Provider, redirectUri: string, httpNodeRoot: string): LinkError | null {
  if (/insecure redirect uri/i.test(text)) return insecureRedirect(redirectUri, httpNodeRoot);
  if (/invalid redirect.?uri|redirect_uri mismatch|redirect_uri did not match/i.test(text)) {
    return new LinkError(
      'invalid_redirect_uri',
      `${provider.displayName} does not know the redirect URI ${redirectUri}. Add exactly this address to the app's ` +
        `Redirect URIs at ${provider.displayName}${provider.kind === 'spotify' ? ' (Spotify Developer Dashboard, app settings)' : ''}, ` +
        'save, and link again.',
    );
  }
  return null;
}

function waitForOutcome(source: SnapshotSource, clock: Clock, signal: AbortSignal): Promise<Snapshot | null> {
  return new Promise((resolve) => {
    const finish = (snapshot: Snapshot | null): void => {
      source.off('snapshot', onSnapshot);
      signal.removeEventListener('abort', onAbort);
      clock.clearTimer(timer);
      resolve(snapshot);
    };
    const onSnapshot = (snapshot: Snapshot): void => {
      if (snapshot.state !== 'pending') finish(snapshot);
    };
    const onAbort = (): void => finish(null);
    const timer = clock.setTimer(OUTCOME_WAIT_MS, () => finish(null));
    source.on('snapshot', onSnapshot);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

function cancelledError(signal: AbortSignal): LinkError {
  return signal.reason instanceof LinkError ? signal.reason : new LinkError('cancelled', 'Linking was cancelled.');
}


function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
