import { profile } from './profile.js';

/** Any OpenID Connect provider: endpoints from `<issuer>/.well-known/openid-configuration`. */
export const oidc = profile({ kind: 'oidc', hints: ['oidcIssuer'], expiry: { kind: 'stated' } });

/** Any OAuth 2.0 provider, endpoints typed by hand. */
export const custom = profile({ kind: 'custom', hints: ['customEndpoints'], expiry: { kind: 'stated' } });
