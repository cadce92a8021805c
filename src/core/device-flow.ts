import type * as oauth from 'openid-client';
import { sleep, type Clock } from './clock.js';
import { codeExpired, LinkError, toLinkError } from './errors.js';
import { deviceFlowRefused, type Provider } from './providers.js';
import { openidClient } from './on-first-use.js';

/** A code waiting for a person to approve it, whichever flow made it. */
export interface LinkingSession {
  userCode: string;
  verificationUri: string;
  verificationUriComplete: string | null;
  /** Epoch ms. */
  expiresAt: number;
  /** Settles when the attempt ends: the token response, or a LinkError (denied, expired, cancelled…). */
  tokens: Promise<oauth.TokenEndpointResponse>;
}

/**
 * A code was entered and the attempt now waits for the sign-in at the provider (pairing page):
 * until `expiresAt` (epoch ms), with the last sign-in failure the person may try again after.
 */
export interface LinkingProgress {
  waitingFor: 'sign_in';
  expiresAt: number;
  error: LinkError | null;
}

/** What a linking method is given for one attempt. */
export interface LinkingContext {
  provider: Provider;
  clock: Clock;
  /** Aborts with a LinkError (`cancelled` or `closed`) as its reason. */
  signal: AbortSignal;
  log: (message: string) => void;
  /** The link's slug (the pairing page names the link it confirms). */
  slug?: string;
  /** Tells the Link that the attempt moved on without ending (its snapshot then says so). */
  progress?: (update: LinkingProgress) => void;
}

/** Starts a linking attempt; resolves once a code can be shown. */
export type LinkingMethod = (context: LinkingContext) => Promise<LinkingSession>;

const DEVICE_CODE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';
export const DEFAULT_POLL_INTERVAL_MS = 5_000;
export const SLOW_DOWN_STEP_MS = 5_000;
/** A device code lives at most this long, whatever the provider says. */
export const MAX_CODE_LIFETIME_MS = 60 * 60_000;
/** The provider's polling interval is honoured up to this (slow_down may still add to it). */
export const MAX_POLL_INTERVAL_MS = 60_000;
/** Network back-off doubles the wait up to this. */
export const MAX_POLL_BACKOFF_MS = 5 * 60_000;

/** RFC 8628 device authorization grant. */
export const deviceFlow: LinkingMethod = async ({ provider, clock, signal, log }) => {
  let response: oauth.DeviceAuthorizationResponse;
  try {
    response = await openidClient().initiateDeviceAuthorization(provider.config, { scope: provider.scope });
  } catch (err) {
    const refusal = deviceFlowRefusal(err);
    throw refusal ? deviceFlowRefused(provider, refusal) : toLinkError(err, provider.displayName);
  }
  for (const uri of [response.verification_uri, response.verification_uri_complete]) {
    // These are shown as links and QR codes: anything but a web address is refused.
    if (uri !== undefined && !/^https?:\/\//i.test(uri)) {
      throw new LinkError('bad_response', `${provider.displayName} sent a verification address that is not a web address.`);
    }
  }
  const startedAt = clock.now();
  // A provider's numbers are bounded before use: `expires_in: 1e20` is no date at all.
  const lifetimeMs = Math.min(response.expires_in * 1000, MAX_CODE_LIFETIME_MS);
  const expiresAt = startedAt + lifetimeMs;
  const interval =
    typeof response.interval === 'number' && response.interval > 0
      ? Math.min(response.interval * 1000, MAX_POLL_INTERVAL_MS)
      : DEFAULT_POLL_INTERVAL_MS;
  log(`device code issued; expires in ${lifetimeMs / 1000} s, polling every ${interval / 1000} s`);
  const tokens = pollForTokens(provider, response.device_code, interval, expiresAt, clock, signal, log);
  // The caller attaches its handlers after this resolves; never leave a rejection unobserved meanwhile.
  tokens.catch(() => undefined);
  return {
    userCode: response.user_code,
    verificationUri: response.verification_uri,
    verificationUriComplete: response.verification_uri_complete ?? null,
    expiresAt,
    tokens,
  };
};

async function pollForTokens(
  provider: Provider,
  deviceCode: string,
  initialIntervalMs: number,
  expiresAt: number,
  clock: Clock,
  signal: AbortSignal,
  log: (message: string) => void,
): Promise<oauth.TokenEndpointResponse> {
  let interval = initialIntervalMs;
  let wait = interval;
  for (;;) {
    const remaining = expiresAt - clock.now();
    if (remaining <= 0) throw codeExpired();
    await sleep(clock, Math.min(wait, remaining), signal);
    if (clock.now() >= expiresAt) throw codeExpired();
    try {
      const tokens = await openidClient().genericGrantRequest(provider.config, DEVICE_CODE_GRANT, { device_code: deviceCode });
      // Cancelled while this poll was in flight: the person pressed cancel, so do not link.
      if (signal.aborted) throw signal.reason;
      return tokens;
    } catch (err) {
      if (signal.aborted) throw signal.reason;
      const pollError = err instanceof openidClient().ResponseBodyError ? err.error : undefined;
      if (pollError === 'authorization_pending') {
        wait = interval;
        continue;
      }
      if (pollError === 'slow_down') {
        interval += SLOW_DOWN_STEP_MS;
        wait = interval;
        log(`provider asked to slow down; polling every ${interval / 1000} s`);
        continue;
      }
      // A tenant's Conditional Access may block device code sign-ins only once the person signed in.
      if (conditionalAccessBlock(err)) throw deviceFlowRefused(provider, CONDITIONAL_ACCESS);
      const problem = toLinkError(err, provider.displayName);
      // An OAuth error other than the two above ends the attempt (RFC 8628 §3.5), even one we do not know.
      if (pollError !== undefined || !problem.transient) throw problem;
      wait =
        problem.retryAfterMs !== undefined
          ? Math.max(interval, problem.retryAfterMs)
          : Math.min(Math.max(wait, interval) * 2, MAX_POLL_BACKOFF_MS);
      log(`poll failed (${problem.code}); next poll in ${Math.round(wait / 1000)} s`);
    }
  }
}


/** OAuth errors with which a device authorization request says this client may not use the flow. */
const REFUSING_ERRORS: ReadonlySet<string> = new Set(['unauthorized_client', 'invalid_client', 'invalid_grant']);
const REFUSING_STATUSES: ReadonlySet<number> = new Set([400, 401, 403]);
const CONDITIONAL_ACCESS = 'blocked by Conditional Access, AADSTS53003';

/**
 * How the provider refused a device authorization request to this client (its OAuth error, the
 * HTTP status, or Microsoft's Conditional Access block), or null when `err` is something else. A
 * refused scope is not counted: the pairing page would ask for the same scopes.
 */
export function deviceFlowRefusal(err: unknown): string | null {
  if (conditionalAccessBlock(err)) return CONDITIONAL_ACCESS;
  if (err instanceof openidClient().ResponseBodyError) {
    if (err.error === 'invalid_scope') return null;
    return REFUSING_ERRORS.has(err.error) || REFUSING_STATUSES.has(err.status) ? err.error : null;
  }
  if (err instanceof openidClient().WWWAuthenticateChallengeError) return `HTTP ${err.status}`;
  // openid-client reports a refusal without an OAuth error body as a ClientError caused by the response.
  const status = err instanceof openidClient().ClientError && err.cause instanceof Response ? err.cause.status : undefined;
  return status !== undefined && REFUSING_STATUSES.has(status) ? `HTTP ${status}` : null;
}

/** Microsoft's AADSTS53003: a Conditional Access policy of the tenant blocks the sign-in. */
function conditionalAccessBlock(err: unknown): boolean {
  if (!(err instanceof openidClient().ResponseBodyError)) return false;
  const body = err.cause as { error_codes?: unknown };
  return /\bAADSTS53003\b/.test(err.error_description ?? '') || (Array.isArray(body.error_codes) && body.error_codes.includes(53003));
}
