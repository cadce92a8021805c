import type * as oauth from 'openid-client';
import type { ExpiryModel } from './profiles/index.js';
import type { TokenSet } from './store.js';

/**
 * Lifetimes a provider states are capped at ten years: an absurd `expires_in` (1e20) would
 * otherwise make a date no snapshot can print, stored and poisoning every later load.
 */
const MAX_LIFETIME_S = 10 * 365 * 24 * 60 * 60;

/**
 * Reads a token response. A response without a refresh token keeps the previous one. `previous`
 * is null for a new grant (linking), whose approval starts a `fixed` model's clock.
 */
export function toTokenSet(
  response: oauth.TokenEndpointResponse,
  previous: TokenSet | null,
  now: number,
  expiry: ExpiryModel,
): TokenSet {
  const rotated = typeof response.refresh_token === 'string' && response.refresh_token !== '';
  return {
    accessToken: response.access_token,
    tokenType: response.token_type,
    expiresAt: typeof response.expires_in === 'number' ? now + Math.min(response.expires_in, MAX_LIFETIME_S) * 1000 : null,
    refreshToken: rotated ? response.refresh_token! : (previous?.refreshToken ?? null),
    scope: typeof response.scope === 'string' ? response.scope : (previous?.scope ?? null),
    obtainedAt: now,
    ...refreshHorizon(response, previous, now, expiry),
  };
}

/**
 * When the grant needs a person again. A lifetime stated in this response wins; else one stated
 * earlier stands; else the profile's model decides.
 */
function refreshHorizon(
  response: oauth.TokenEndpointResponse,
  previous: TokenSet | null,
  now: number,
  expiry: ExpiryModel,
): Pick<TokenSet, 'refreshExpiresAt' | 'refreshExpiresStated'> {
  const stated = numberField(response, 'refresh_token_expires_in') ?? numberField(response, 'refresh_expires_in');
  if (stated !== undefined) return { refreshExpiresAt: now + stated * 1000, refreshExpiresStated: true };
  if (previous?.refreshExpiresStated) return { refreshExpiresAt: previous.refreshExpiresAt, refreshExpiresStated: true };
  switch (expiry.kind) {
    case 'fixed':
      return { refreshExpiresAt: previous ? previous.refreshExpiresAt : now + expiry.afterApprovalMs };
    case 'inactivity':
      return { refreshExpiresAt: now + expiry.idleMs };
    default:
      return { refreshExpiresAt: previous?.refreshExpiresAt ?? null };
  }
}

function numberField(response: oauth.TokenEndpointResponse, name: string): number | undefined {
  const value = (response as Record<string, unknown>)[name];
  const parsed = typeof value === 'string' ? Number(value) : value;
  return typeof parsed === 'number' && Number.isFinite(parsed) && parsed > 0 ? Math.min(parsed, MAX_LIFETIME_S) : undefined;
}
