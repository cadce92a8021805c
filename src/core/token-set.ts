import type * as oauth from 'openid-client';
import type { TokenSet } from './store.js';

/**
 * Lifetimes a provider states are capped at ten years: an absurd `expires_in` (1e20) would
 * otherwise make a date no snapshot can print, stored and poisoning every later load.
 */
const MAX_LIFETIME_S = 10 * 365 * 24 * 60 * 60;

/** Reads a token response. A response without a refresh token keeps the previous one. */
export function toTokenSet(
  response: oauth.TokenEndpointResponse,
  previous: TokenSet | null,
  now: number,
  /** True when the refresh horizon is fixed at approval (the profile's `fixed` expiry). */
  fixedHorizon: boolean,
): TokenSet {
  const refreshLifetime = numberField(response, 'refresh_token_expires_in') ?? numberField(response, 'refresh_expires_in');
  const rotated = typeof response.refresh_token === 'string' && response.refresh_token !== '';
  return {
    accessToken: response.access_token,
    tokenType: response.token_type,
    expiresAt: typeof response.expires_in === 'number' ? now + Math.min(response.expires_in, MAX_LIFETIME_S) * 1000 : null,
    refreshToken: rotated ? response.refresh_token! : (previous?.refreshToken ?? null),
    scope: typeof response.scope === 'string' ? response.scope : (previous?.scope ?? null),
    obtainedAt: now,
    refreshExpiresAt:
      fixedHorizon
        ? (previous?.refreshExpiresAt ?? null)
        : rotated && refreshLifetime !== undefined
          ? now + refreshLifetime * 1000
          : (previous?.refreshExpiresAt ?? null),
  };
}

function numberField(response: oauth.TokenEndpointResponse, name: string): number | undefined {
  const value = (response as Record<string, unknown>)[name];
  const parsed = typeof value === 'string' ? Number(value) : value;
  return typeof parsed === 'number' && Number.isFinite(parsed) && parsed > 0 ? Math.min(parsed, MAX_LIFETIME_S) : undefined;
}
