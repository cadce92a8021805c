import type { ErrorSummary } from './snapshot.js';
import { openidClient } from './on-first-use.js';

/**
 * Every failure the engine reports is a LinkError: a stable `code` that flows, dashboards and
 * message catalogs can key on, and an English `message` a hobbyist can act on. Nothing secret is
 * ever put in either.
 */
export type LinkErrorCode =
  | 'access_denied'
  | 'code_expired'
  | 'invalid_grant'
  | 'invalid_grant_unconfirmed'
  | 'refresh_expired'
  | 'invalid_client'
  | 'invalid_scope'
  | 'network'
  | 'timeout'
  | 'rate_limited'
  | 'retry_later'
  | 'provider_unavailable'
  | 'bad_response'
  | 'response_too_large'
  | 'provider_error'
  | 'store_unreadable'
  | 'store_failed'
  | 'not_linked'
  | 'cancelled'
  | 'closed'
  | 'config'
  | 'unsupported'
  | 'user_not_registered'
  | 'account_changed'
  | 'device_flow_refused'
  | 'invalid_redirect_uri'
  | 'insecure_redirect_uri'
  | 'unknown_action'
  | 'bad_request'
  | 'forbidden'
  | 'not_deployed'
  | 'forbidden_host'
  | 'unauthorized'
  | 'quota_exceeded';

/** Codes after which trying the same request again later can succeed. */
const TRANSIENT: ReadonlySet<LinkErrorCode> = new Set<LinkErrorCode>([
  'network',
  'timeout',
  'rate_limited',
  'retry_later',
  'provider_unavailable',
  'bad_response',
  'response_too_large',
  'provider_error',
]);

/** A failure with a stable `code` and a message a person can act on. */
export class LinkError extends Error {
  override readonly name = 'LinkError';
  readonly code: LinkErrorCode;
  /** How long the provider asked us to wait (Retry-After), in milliseconds. */
  readonly retryAfterMs: number | undefined;

  constructor(code: LinkErrorCode, message: string, options: { retryAfterMs?: number; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryAfterMs = options.retryAfterMs;
  }

  get transient(): boolean {
    return TRANSIENT.has(this.code);
  }

  /**
   * The plain words alone: Node-RED builds a Catch node's `msg.error.message` and its log line
   * from `toString()`, which would otherwise start with the class name.
   */
  override toString(): string {
    return this.message;
  }

  /** The `{code, message}` pair that snapshots, messages and MQTT replies carry. */
  toJSON(): ErrorSummary {
    return { code: this.code, message: this.message };
  }
}

const GRANT_REFUSED = 'The provider no longer accepts this link (it was revoked, expired or replaced). Link the account again.';

const OAUTH_ERROR_MESSAGES: Record<string, [LinkErrorCode, string]> = {
  access_denied: ['access_denied', 'The request was declined on the sign-in page.'],
  expired_token: ['code_expired', 'The code expired before it was approved. Start linking again.'],
  invalid_grant: ['invalid_grant', GRANT_REFUSED],
  // GitHub's word for a refresh token it no longer accepts.
  bad_refresh_token: ['invalid_grant', GRANT_REFUSED],
  invalid_client: [
    'invalid_client',
    'The provider rejected the client id or client secret. Check them in the account-link node.',
  ],
  unauthorized_client: [
    'invalid_client',
    'The provider does not allow this client id to link accounts this way. Check the app settings at the provider.',
  ],
  invalid_scope: ['invalid_scope', 'The provider rejected the requested scopes. Check the scope field.'],
};

/** A code nobody approved in time, whichever flow made it. */
export function codeExpired(): LinkError {
  return new LinkError('code_expired', 'The code expired before it was approved. Start linking again.');
}

/** Turns an OAuth error response (`error`, `error_description`) into a LinkError. */
export function oauthError(error: string, description: string | undefined, provider: string): LinkError {
  const known = OAUTH_ERROR_MESSAGES[error];
  if (known) return new LinkError(known[0], known[1]);
  const detail = description ? `: ${clip(description)}` : '';
  return new LinkError('provider_error', `${provider} answered with the error "${clip(error)}"${detail}.`);
}

/** Provider texts end up in badges and speech: keep them short and single-line. */
export function clip(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Follows an error's `cause` chain to the first LinkError, if any. */
export function findLinkError(err: unknown): LinkError | undefined {
  let current: unknown = err;
  for (let depth = 0; depth < 8 && current; depth++) {
    if (current instanceof LinkError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Maps whatever a protocol step threw (openid-client errors, our fetch's LinkErrors, anything
 * else) to one LinkError. `provider` names the provider in messages.
 */
export function toLinkError(err: unknown, provider: string): LinkError {
  const found = findLinkError(err);
  if (found) return found;
  if (err instanceof openidClient().ResponseBodyError) return oauthError(err.error, err.error_description, provider);
  if (err instanceof openidClient().WWWAuthenticateChallengeError) {
    const challenge = err.cause[0];
    const error = challenge?.parameters.error;
    if (error) return oauthError(error, challenge.parameters.error_description, provider);
    return new LinkError('invalid_client', `${provider} refused the request (HTTP ${err.status}).`);
  }
  if (err instanceof openidClient().ClientError) {
    return new LinkError('bad_response', `${provider} sent a response that could not be used (${clip(err.message)}).`, {
      cause: err,
    });
  }
  if (err instanceof SyntaxError) {
    return new LinkError('bad_response', `${provider} sent a response that is not valid JSON.`, { cause: err });
  }
  return new LinkError('provider_error', `Talking to ${provider} failed: ${clip(String((err as Error)?.message ?? err))}`, {
    cause: err,
  });
}
