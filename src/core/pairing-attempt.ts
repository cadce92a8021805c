import type { Clock } from './clock.js';
import { LinkError, oauthError } from './errors.js';
import type { Provider } from './providers.js';
import type { SnapshotSource } from './pairing-types.js';
import type { Snapshot } from './snapshot.js';

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

