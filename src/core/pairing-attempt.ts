import type * as oauth from 'openid-client';
import type { Account } from './account.js';
import type { Clock } from './clock.js';
import { LinkError, oauthError, toLinkError } from './errors.js';
import type { Provider } from './providers.js';
import type { PairingAttempt, PairingConfirmation, SnapshotSource } from './pairing-types.js';
import type { Snapshot } from './snapshot.js';
import { openidClient } from './on-first-use.js';

/** How long the callback page waits for the Link to store the tokens and read the account. */
const OUTCOME_WAIT_MS = 60_000;

/**
 * An OAuth error (`error` + description, from the redirect or the token endpoint) as a LinkError,
 * in the provider's own words where its profile has them.
 */
export function describeProviderError(
  provider: Provider,
  error: string,
  description: string | undefined,
  redirectUri: string,
  httpNodeRoot: string,
): LinkError {
  const text = `${error} ${description ?? ''}`;
  return (
    provider.profile.describeError(text, provider.displayName, redirectUri, httpNodeRoot) ??
    oauthError(error, description, provider.displayName)
  );
}

/** The page's base address without a trailing slash; a config error when it is no web address. */
export function checkedPublicUrl(value: string): string {
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

/** Resolves with the Link's first snapshot after `pending`; null when cancelled or after a minute. */
export function waitForOutcome(source: SnapshotSource, clock: Clock, signal: AbortSignal): Promise<Snapshot | null> {
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

/** The reason an attempt was aborted with, as a LinkError. */
export function cancelledError(signal: AbortSignal): LinkError {
  return signal.reason instanceof LinkError ? signal.reason : new LinkError('cancelled', 'Linking was cancelled.');
}


/** What the confirmation page shows of an attempt whose code was entered. */
export function confirmationOf(attempt: PairingAttempt): PairingConfirmation {
  return {
    attempt: attempt.id,
    linkName: attempt.linkName,
    provider: attempt.provider.displayName,
    codeMadeAt: attempt.createdAt,
    codeAgeMs: Math.max(0, attempt.clock.now() - attempt.createdAt),
    expiresAt: attempt.deadline,
    redirectUri: attempt.redirectUri,
    lastError: attempt.lastError,
  };
}

/** Exchanges the authorization code in `response` with the attempt's PKCE verifier. */
export function exchangeCode(attempt: PairingAttempt, response: URLSearchParams, state: string): Promise<oauth.TokenEndpointResponse> {
  // openid-client takes the redirect_uri for the token request from this URL: it must be the
  // registered one even when the answer arrived through the relay page or was pasted.
  const currentUrl = new URL(attempt.redirectUri);
  currentUrl.search = '';
  currentUrl.hash = '';
  for (const [name, value] of response) currentUrl.searchParams.append(name, value);
  return openidClient().authorizationCodeGrant(attempt.provider.config, currentUrl, {
    pkceCodeVerifier: attempt.verifier ?? undefined,
    expectedState: state,
  });
}

/** Without a Link to wait for, the page reads the account itself; only a refusal with words fails. */
export async function readAccount(attempt: PairingAttempt, tokens: oauth.TokenEndpointResponse): Promise<Account | null> {
  try {
    return await attempt.provider.fetchAccount(tokens.access_token);
  } catch (err) {
    const problem = toLinkError(err, attempt.provider.displayName);
    if (problem.code === 'user_not_registered') throw problem;
    return null;
  }
}

/** A failed code exchange as a LinkError, in the provider's own words where it has them. */
export function describeExchangeFailure(attempt: PairingAttempt, err: unknown, httpNodeRoot: string): LinkError {
  const { provider, redirectUri } = attempt;
  if (err instanceof openidClient().ResponseBodyError || err instanceof openidClient().AuthorizationResponseError) {
    return describeProviderError(provider, err.error, err.error_description, redirectUri, httpNodeRoot);
  }
  const found = toLinkError(err, provider.displayName);
  return provider.profile.describeError(found.message, provider.displayName, redirectUri, httpNodeRoot) ?? found;
}
