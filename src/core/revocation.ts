import { LinkError, toLinkError } from './errors.js';
import type { Provider } from './providers.js';
import type { TokenSet } from './store.js';
import { openidClient } from './on-first-use.js';

/**
 * Revokes both tokens at the provider (RFC 7009), refresh token first. Null when the provider was
 * told; else the problem, worded for people, naming where to remove the access by hand.
 */
export async function revokeAtProvider(provider: Provider, tokens: TokenSet): Promise<LinkError | null> {
  const hints: [string | null, string][] = [
    [tokens.refreshToken, 'refresh_token'],
    [tokens.accessToken, 'access_token'],
  ];
  for (const [token, hint] of hints) {
    if (!token) continue;
    try {
      await openidClient().tokenRevocation(provider.config, token, { token_type_hint: hint });
    } catch (err) {
      const cause = toLinkError(err, provider.displayName);
      const where = provider.profile.manageUrl ? ` Remove the access by hand at ${provider.profile.manageUrl}.` : '';
      return new LinkError(
        cause.code,
        `The tokens were deleted here, but ${provider.displayName} could not be told: ${cause.message}${where}`,
      );
    }
  }
  return null;
}
