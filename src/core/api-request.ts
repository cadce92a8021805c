import type { Agent, Dispatcher } from 'undici';
import { encodeRequest } from './api-body.js';
import { gateFor, type GateOwner, type GateState, type RateGate } from './api-gate.js';
import { parseAllowedHosts, sentOnlyHome, tokenDestinations, tokenUrl, type HostEntry, type TokenDestinations } from './api-hosts.js';
import { systemClock, type Clock } from './clock.js';
import { LinkError } from './errors.js';
import { lookupAll, type HostLookup } from './home-network.js';
import { parseRetryAfter, readCapped, transportError, type HttpOptions } from './http.js';
import { silentLogger, type Logger } from './logger.js';
import type { Provider } from './providers.js';
import { onFirstUse, undici } from './on-first-use.js';

/** The methods a request node sends. */
export const API_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;
/** One of API_METHODS. */
export type ApiMethod = (typeof API_METHODS)[number];

/** One call to the provider's API, as a flow asks for it. */
export interface ApiRequest {
  method: ApiMethod;
  /** Absolute, or relative to the profile's API base. */
  url: string;
  /** Extra request headers; an `Authorization` among them is replaced by the link's. */
  headers?: unknown;
  /** The body: strings and Buffers as they are, anything else as JSON. Not sent with GET. */
  body?: unknown;
}

/** What came back (after redirects). Holds nothing of the token. */
export interface ApiResponse {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** The address of the final answer. */
  url: string;
}

/** The part of a Link the requester uses (a `Link` is one). */
export interface ApiLink {
  readonly slug: string;
  accessToken(): Promise<string>;
  renewRejectedToken(rejected: string): Promise<string>;
  resolvedProvider(): Promise<Provider>;
}

/** What an ApiRequester is made of. */
export interface ApiRequesterOptions {
  link: ApiLink;
  /** Comma-separated `host` / `host:port` entries the token may also go to. */
  allowedHosts?: string;
  /** Requests of this requester that may wait for the provider's Retry-After (default 100). */
  queueLimit?: number;
  clock?: Clock;
  /** Transport and limits; `maxBodyBytes` defaults to 10 MiB here. */
  http?: HttpOptions;
  logger?: Logger;
  /** Told whenever the app's queue changes: how long it waits, how many requests wait. */
  onWait?: (state: GateState) => void;
}

/** Larger API answers are refused; a playlist page or an album cover is far below. */
export const DEFAULT_API_MAX_BODY_BYTES = 10 * 1024 * 1024;
const CONNECT_TIMEOUT_MS = 10_000;
const RESPONSE_TIMEOUT_MS = 60_000;
const MAX_REDIRECTS = 10;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Tokens an API refused even right after a renewal, per link: a 401 for them does not refresh again. */
const refusedAfterRenewal = new WeakMap<ApiLink, string>();

/** Shared by every request node that keeps the default connect timeout; made at the first call. */
const sharedAgent = onFirstUse((): Agent => new (undici().Agent)({ connect: { timeout: CONNECT_TIMEOUT_MS } }));

/** One answer of one hop, and whether the token went with it. */
interface Exchange extends ApiResponse {
  signed: boolean;
}

/** Where requests of one link go, known once its provider is resolved. */
interface Target {
  destinations: TokenDestinations;
  gate: RateGate;
}

/**
 * Calls a linked account's API the way a request node does: the token goes only where it belongs
 * (api-hosts.ts), a 401 renews it once at once and retries once, and 429 or 503 with Retry-After
 * make every request of the same app wait in one queue (api-gate.ts).
 */
export class ApiRequester {
  private readonly link: ApiLink;
  private readonly hosts: readonly HostEntry[];
  private readonly owner: GateOwner;
  private readonly clock: Clock;
  /** Made at the first call, so that a deploy does not load undici. */
  private readonly dispatcher: () => Dispatcher;
  private readonly maxBodyBytes: number;
  private readonly responseTimeoutMs: number;
  private readonly log: Logger;
  private readonly onWait: ((state: GateState) => void) | undefined;
  private target: Target | undefined;
  private resolving: Promise<Target> | undefined;
  private readonly lookup: HostLookup;
  private closed = false;

  /** Throws a `config` LinkError when an allowed host is not a host. */
  constructor(options: ApiRequesterOptions) {
    this.link = options.link;
    this.hosts = parseAllowedHosts(options.allowedHosts);
    this.owner = { waiting: 0, limit: Math.max(0, Math.floor(options.queueLimit ?? 100)) };
    this.clock = options.clock ?? systemClock;
    const connectTimeoutMs = options.http?.connectTimeoutMs;
    this.dispatcher = onFirstUse(
      () => options.http?.dispatcher ?? (connectTimeoutMs ? new (undici().Agent)({ connect: { timeout: connectTimeoutMs } }) : sharedAgent()),
    );
    this.responseTimeoutMs = options.http?.responseTimeoutMs ?? RESPONSE_TIMEOUT_MS;
    this.lookup = options.http?.lookup ?? lookupAll;
    this.maxBodyBytes = options.http?.maxBodyBytes ?? DEFAULT_API_MAX_BODY_BYTES;
    this.log = options.logger ?? silentLogger;
    this.onWait = options.onWait;
  }

  /**
   * Sends one request and resolves with the answer, whatever its status, except: a 401 after the
   * renewed token (`unauthorized`), a used-up quota (`quota_exceeded`), a queue too long
   * (`rate_limited`), an address the token may not go to (`forbidden_host`, nothing sent).
   */
  async send(request: ApiRequest): Promise<ApiResponse> {
    if (this.closed) throw new LinkError('closed', 'The request node was stopped.');
    const target = this.target ?? (await this.resolve());
    const url = tokenUrl(request.url, target.destinations);
    const encoded = encodeRequest(request.method, request.headers, request.body);
    let token = await this.link.accessToken();
    let renewed = false;
    let retrying = false;
    for (;;) {
      const wait = target.gate.admit(this.owner, retrying);
      const probe = wait ? await wait : false;
      let answer: Exchange;
      try {
        answer = await this.exchange(url, request.method, encoded.headers, encoded.body, token);
      } catch (err) {
        if (probe) target.gate.reopened();
        throw err;
      }
      const refusal = answer.signed ? this.refusal(answer) : null;
      if (refusal) {
        target.gate.refused(refusal.retryAfterMs, probe, refusal.quota);
        if (refusal.quota) throw refusal.quota;
        retrying = true; // back to the head of the queue
        continue;
      }
      if (probe) target.gate.reopened();
      retrying = false;
      if (answer.statusCode !== 401 || !answer.signed) return answer;
      if (renewed || refusedAfterRenewal.get(this.link) === token) {
        refusedAfterRenewal.set(this.link, token);
        throw this.unauthorized(target.destinations.providerName);
      }
      this.log.debug(`[${this.link.slug}] the API refused the access token (HTTP 401); renewing it once`);
      token = await this.link.renewRejectedToken(token);
      renewed = true;
    }
  }

  /** How long the app's queue waits and how many requests wait, now. */
  waitState(): GateState | undefined {
    return this.target?.gate.current();
  }

  /** Fails this requester's waiting requests and stops telling `onWait`. */
  close(): void {
    this.closed = true;
    if (!this.target) return;
    this.target.gate.off('change', this.forwardWait);
    this.target.gate.drop(this.owner, new LinkError('closed', 'The request node was stopped.'));
  }

  private readonly forwardWait = (state: GateState): void => this.onWait?.(state);

  private resolve(): Promise<Target> {
    this.resolving ??= this.link.resolvedProvider().then(
      (provider) => {
        const destinations = tokenDestinations(provider, this.hosts);
        // Spotify's quota (and most providers') is per app: one queue per client id at this provider.
        const key = `${provider.profile.kind} ${provider.config.serverMetadata().issuer} ${provider.config.clientMetadata().client_id}`;
        const gate = gateFor(this.clock, key, provider.displayName);
        if (!this.closed) gate.on('change', this.forwardWait);
        this.target = { destinations, gate };
        return this.target;
      },
      (err: unknown) => {
        this.resolving = undefined;
        throw err;
      },
    );
    return this.resolving;
  }

  /** Sends one request and follows redirects: with the token only within the same origin. */
  private async exchange(
    start: URL,
    method: ApiMethod,
    headers: Record<string, string | string[]>,
    body: string | Buffer | undefined,
    token: string,
  ): Promise<Exchange> {
    let url = start;
    let currentMethod: string = method;
    let currentBody = body;
    for (let hop = 0; ; hop++) {
      const signed = url.origin === start.origin;
      // Right before each hop that carries the token: a name's addresses can change while a request waits.
      if (signed) await sentOnlyHome(url, this.lookup);
      const sent = signed ? { ...headers, authorization: `Bearer ${token}` } : headers;
      let response: Dispatcher.ResponseData;
      try {
        response = await undici().request(url, {
          method: currentMethod as Dispatcher.HttpMethod,
          headers: sent,
          body: currentBody,
          dispatcher: this.dispatcher(),
          headersTimeout: this.responseTimeoutMs,
          bodyTimeout: this.responseTimeoutMs,
        });
      } catch (err) {
        throw transportError(err, url.host);
      }
      const location = response.headers.location;
      const next = REDIRECTS.has(response.statusCode) && typeof location === 'string' ? safeUrl(location, url) : null;
      if (next && hop < MAX_REDIRECTS) {
        response.body.resume();
        // As fetch does: 303, and 301/302 after a POST, become a GET without a body.
        if (response.statusCode === 303 || (currentMethod === 'POST' && response.statusCode < 303)) {
          currentMethod = 'GET';
          currentBody = undefined;
        }
        url = next;
        continue;
      }
      const read = await this.read(response, url.host);
      return { statusCode: response.statusCode, headers: response.headers as Record<string, string | string[]>, body: read, url: url.href, signed };
    }
  }

  private async read(response: Dispatcher.ResponseData, host: string): Promise<Buffer> {
    try {
      return (await readCapped(response.body, this.maxBodyBytes, host)) ?? Buffer.alloc(0);
    } catch (err) {
      throw err instanceof LinkError ? err : transportError(err, host);
    }
  }

  /** A 429, or a 503 with Retry-After: how long to wait, and whether the app's quota is used up. */
  private refusal(answer: Exchange): { retryAfterMs: number | undefined; quota: LinkError | null } | null {
    const retryAfter = answer.headers['retry-after'];
    if (answer.statusCode !== 429 && !(answer.statusCode === 503 && retryAfter)) return null;
    const retryAfterMs = parseRetryAfter(typeof retryAfter === 'string' ? retryAfter : null, this.clock.now());
    const quota = answer.statusCode === 429 && /"reason"\s*:\s*"QUOTA_EXCEEDED"/.test(answer.body.toString('utf8'));
    return { retryAfterMs, quota: quota ? this.quotaExceeded(retryAfterMs) : null };
  }

  private quotaExceeded(retryAfterMs: number | undefined): LinkError {
    const name = this.target?.destinations.providerName ?? 'The provider';
    const until = retryAfterMs === undefined ? '' : ` for the next ${Math.ceil(retryAfterMs / 1000)} s`;
    return new LinkError(
      'quota_exceeded',
      `${name} says this app has used up its request quota (QUOTA_EXCEEDED), so requests are refused${until}. ` +
        `Make fewer calls (poll less often, fewer flows on this app), or ask for a higher quota in the app's settings ` +
        `in ${name}'s developer console.`,
      { retryAfterMs },
    );
  }

  private unauthorized(providerName: string): LinkError {
    return new LinkError(
      'unauthorized',
      `${providerName} refused the request (HTTP 401) even with a just-renewed token, so the link itself works: ` +
        'this call probably needs a permission the link was not given. Add the scope it needs to the account ' +
        'and link again, or check the address.',
    );
  }
}

function safeUrl(location: string, base: URL): URL | null {
  try {
    const url = new URL(location, base);
    return url.protocol === 'https:' || url.protocol === 'http:' ? url : null;
  } catch {
    return null;
  }
}
