import type { Agent, Dispatcher, fetch as undiciFetch } from 'undici';
import type { Clock } from './clock.js';
import { LinkError } from './errors.js';
import { lookupAll, resolvesToHomeNetwork, type HostLookup } from './home-network.js';
import { onFirstUse, undici } from './on-first-use.js';

/** Limits and transport for talking to providers. */
export interface HttpOptions {
  /** undici dispatcher; tests pass a MockAgent. Default: an Agent with the timeouts below. */
  dispatcher?: Dispatcher;
  connectTimeoutMs?: number;
  /** Time allowed for the response headers, then for each gap in the body. */
  responseTimeoutMs?: number;
  /** Larger responses are refused: no provider answer we need is anywhere near this. */
  maxBodyBytes?: number;
  /** Resolves bare names for the plain-http rule; tests pass their own. Default: the system resolver. */
  lookup?: HostLookup;
}

/** The signature openid-client accepts as its `customFetch`. */
export type ProviderFetch = (
  url: string,
  init: { body?: unknown; headers: Record<string, string>; method: string; redirect?: 'manual'; signal?: AbortSignal },
) => Promise<Response>;

export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
const DEFAULT_RESPONSE_TIMEOUT_MS = 20_000;

function newAgent(connectTimeoutMs: number, responseTimeoutMs: number): Agent {
  return new (undici().Agent)({
    connect: { timeout: connectTimeoutMs },
    headersTimeout: responseTimeoutMs,
    bodyTimeout: responseTimeoutMs,
  });
}

/** Shared by every link that keeps the default timeouts; made at the first provider call. */
const defaultAgent = onFirstUse(() => newAgent(DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_RESPONSE_TIMEOUT_MS));

/**
 * A fetch for talking to providers: bounded in time and size, and turning every way a request can
 * go wrong into a LinkError with a code. 429 and 503 carry the provider's Retry-After.
 */
export function createProviderFetch(options: HttpOptions, clock: Clock): ProviderFetch {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  // Made at the first request, so that a deploy does not load undici for links that never call out.
  const dispatcher = onFirstUse(
    (): Dispatcher =>
      options.dispatcher ??
      (options.connectTimeoutMs || options.responseTimeoutMs
        ? newAgent(options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, options.responseTimeoutMs ?? DEFAULT_RESPONSE_TIMEOUT_MS)
        : defaultAgent()),
  );

  const lookup = options.lookup ?? lookupAll;

  return async (url, init) => {
    const host = safeHost(url);
    if (/^http:/i.test(url)) await refuseUnlessHome(url, host, lookup);
    let response: Awaited<ReturnType<typeof undiciFetch>>;
    try {
      response = await undici().fetch(url, {
        method: init.method,
        headers: init.headers,
        body: init.body as string | URLSearchParams | undefined,
        redirect: init.redirect ?? 'manual',
        signal: init.signal,
        dispatcher: dispatcher(),
      });
    } catch (err) {
      throw transportError(err, host);
    }

    if (response.status === 429 || response.status === 503) {
      await response.body?.cancel().catch(() => undefined);
      const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), clock.now());
      const code = response.status === 429 ? 'rate_limited' : 'provider_unavailable';
      const what = response.status === 429 ? 'is rate-limiting requests' : 'is temporarily unavailable';
      const wait = retryAfterMs === undefined ? '' : ` It asked to wait ${Math.ceil(retryAfterMs / 1000)} s.`;
      throw new LinkError(code, `${host} ${what} (HTTP ${response.status}).${wait}`, { retryAfterMs });
    }
    if (response.status >= 500) {
      await response.body?.cancel().catch(() => undefined);
      throw new LinkError('provider_unavailable', `${host} had a server error (HTTP ${response.status}).`);
    }

    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBodyBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw tooLarge(host, maxBodyBytes);
    }
    let body: Buffer | null;
    try {
      body = await readCapped(response.body, maxBodyBytes, host);
    } catch (err) {
      throw err instanceof LinkError ? err : transportError(err, host);
    }
    const nullBody = [101, 204, 205, 304].includes(response.status);
    return new Response(nullBody || !body ? null : new Uint8Array(body), {
      status: response.status,
      statusText: response.statusText,
      headers: new Headers([...response.headers]),
    });
  };
}

/**
 * Plain http goes only to the home network, whatever asked for it (an endpoint, a discovered
 * address, a profile's API): a bare name is looked up here, on every request, so a name that
 * resolves to a public address is refused before anything is sent.
 */
async function refuseUnlessHome(url: string, host: string, lookup: HostLookup): Promise<void> {
  const { hostname } = new URL(url);
  let home: boolean;
  try {
    home = await resolvesToHomeNetwork(hostname, lookup);
  } catch (err) {
    throw transportError(err, host);
  }
  if (!home) {
    throw new LinkError(
      'config',
      `A plain http request to ${host} was refused: it is not on the home network. Use https, or an address on this machine or the home network.`,
    );
  }
}

/**
 * Reads a response body (a web stream or a Node stream) into one Buffer, refusing more than
 * `maxBytes` with `response_too_large`; leaving the loop early cancels the stream.
 */
export async function readCapped(stream: AsyncIterable<Uint8Array> | null, maxBytes: number, host: string): Promise<Buffer | null> {
  if (!stream) return null;
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const value of stream) {
    total += value.byteLength;
    if (total > maxBytes) throw tooLarge(host, maxBytes);
    chunks.push(value);
  }
  return Buffer.concat(chunks, total);
}

function tooLarge(host: string, maxBytes: number): LinkError {
  return new LinkError(
    'response_too_large',
    `${host} sent a response larger than ${Math.round(maxBytes / 1024)} KiB; it was refused.`,
  );
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** What went wrong on the way to `host` (timeout, refused, dropped, cancelled), as a LinkError with a code. */
export function transportError(err: unknown, host: string): LinkError {
  let current: unknown = err;
  for (let depth = 0; depth < 6 && current; depth++) {
    const { code, name } = current as { code?: string; name?: string };
    if (name === 'TimeoutError' || (code && TIMEOUT_CODES.has(code))) {
      return new LinkError('timeout', `${host} did not answer in time.`, { cause: err });
    }
    if (name === 'AbortError') {
      return new LinkError('cancelled', `The request to ${host} was cancelled.`, { cause: err });
    }
    if (typeof code === 'string' && /^(E[A-Z]+|UND_ERR_SOCKET)$/.test(code)) {
      return new LinkError('network', `Could not reach ${host} (${describeNetworkCode(code)}).`, { cause: err });
    }
    current = (current as { cause?: unknown }).cause;
  }
  return new LinkError('network', `Could not reach ${host}.`, { cause: err });
}

function describeNetworkCode(code: string): string {
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'name not found; is the hub online?';
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection dropped';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'network unreachable';
    default:
      return code;
  }
}

/** Retry-After is either delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - nowMs);
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the provider';
  }
}
