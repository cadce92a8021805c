import type * as oauth from 'openid-client';
import type { Account } from './account.js';
import { LinkError } from './errors.js';
import { hostStanding } from './home-network.js';
import type { ProviderFetch } from './http.js';
import { account } from './profiles/profile.js';
import { profileFor, type Endpoints, type LinkingFlow, type ProviderKind, type ProviderProfile } from './profiles/index.js';
import { openidClient } from './on-first-use.js';

/** What the config node's `flow` field may say: `auto` lets the profile pick. */
export type FlowChoice = 'auto' | LinkingFlow;

/** What a person types into the account-link config node. */
export interface ProviderSettings extends Endpoints {
  provider: ProviderKind;
  clientId: string;
  clientSecret?: string;
  scope?: string;
  flow?: FlowChoice;
  /** For `oidc`: discovery at `<issuer>/.well-known/…`. */
  issuer?: string;
  /**
   * The link's own name (the config node's): what prompts and pages call a provider that has no
   * name of its own (`oidc`, `custom`).
   */
  name?: string;
}

/** A provider ready to talk to: endpoints resolved and openid-client configured. */
export interface Provider {
  profile: ProviderProfile;
  /** Shown to people: "Spotify", else the link's name, else the issuer's host (see displayNameFor). */
  displayName: string;
  config: oauth.Configuration;
  flow: LinkingFlow;
  /**
   * The flow to use instead when the provider refuses its device flow to this app: the pairing page
   * under `flow: auto` when there is an authorization endpoint, else null.
   */
  fallback: LinkingFlow | null;
  scope: string;
  canRevoke: boolean;
  /** Reads the linked account's identity with a fresh access token. */
  fetchAccount(accessToken: string): Promise<Account | null>;
}

/**
 * The provider's name for people, in prompts and on pages: a preset's own name ("Spotify"), else
 * the link's name ("Home Keycloak"), else the host of the issuer or token endpoint.
 */
export function displayNameFor(settings: Pick<ProviderSettings, 'provider' | 'issuer' | 'tokenEndpoint' | 'name'>): string {
  const known = profileFor(settings.provider)?.displayName ?? settings.name?.trim();
  if (known) return known;
  try {
    return new URL((settings.provider === 'oidc' ? settings.issuer : settings.tokenEndpoint) ?? '').host;
  } catch {
    return 'the provider';
  }
}

/**
 * Resolves settings into a Provider: presets, overrides, `oidc` discovery or `custom` endpoints.
 * Rejects with a `config` LinkError that names the field to fix.
 */
export async function resolveProvider(settings: ProviderSettings, fetch: ProviderFetch): Promise<Provider> {
  if (!settings.clientId?.trim()) throw new LinkError('config', 'The client id is missing.');
  const profile = profileFor(settings.provider);
  if (!profile) throw new LinkError('config', `Unknown provider "${String(settings.provider)}".`);
  const clientAuth = settings.clientSecret ? openidClient().ClientSecretPost(settings.clientSecret) : openidClient().None();
  const customFetch = fetchWithOAuthErrorStatus(fetch);

  let config: oauth.Configuration;
  const displayName = displayNameFor(settings);
  if (profile.kind === 'oidc') {
    const issuer = checkedUrl(settings.issuer, 'issuer');
    try {
      config = await openidClient().discovery(issuer, settings.clientId, undefined, clientAuth, {
        [openidClient().customFetch]: customFetch,
        execute: issuer.protocol === 'http:' ? [openidClient().allowInsecureRequests] : [],
      });
    } catch (err) {
      throw asDiscoveryError(err, issuer);
    }
    config = withOverrides(config, settings, clientAuth);
  } else {
    const tokenEndpoint = checkedUrl(settings.tokenEndpoint || profile.endpoints.tokenEndpoint, 'token endpoint');
    const metadata: oauth.ServerMetadata = {
      issuer: tokenEndpoint.origin,
      token_endpoint: tokenEndpoint.href,
      ...endpointMetadata(settings, profile.endpoints),
    };
    config = new (openidClient().Configuration)(metadata, settings.clientId, undefined, clientAuth);
  }
  config[openidClient().customFetch] = customFetch;
  const server = config.serverMetadata();
  const endpoints = Object.entries(server).flatMap(([field, value]) =>
    field.endsWith('_endpoint') && typeof value === 'string' ? [checkedUrl(value, field.replace(/_/g, ' '))] : [],
  );
  const insecure = endpoints.some((url) => url.protocol === 'http:');
  // Only an endpoint that is itself plain http on the home network turns http on, and then the
  // provider fetch still refuses plain http to any host off the home network: a discovered
  // `service_documentation` or `jwks_uri` on http never opens the way for anything else.
  if (insecure) openidClient().allowInsecureRequests(config);

  const choice = settings.flow ?? 'auto';
  const flow = chooseFlow(choice, profile, server, displayName);
  return {
    profile,
    displayName,
    config,
    flow,
    fallback: choice === 'auto' && flow === 'device' && server.authorization_endpoint ? 'pairing' : null,
    scope: settings.scope?.trim() || profile.defaultScope,
    canRevoke: Boolean(server.revocation_endpoint),
    fetchAccount: accountReader(config, profile),
  };
}

/**
 * The flow `start()` would link these settings with (for `oidc` under `auto`, as the issuer's
 * discovery document says), so the editor asks for a redirect URI only when the pairing page will
 * be used. Null when it cannot be known yet: no issuer, discovery failed, settings incomplete.
 */
export async function expectedFlow(settings: ProviderSettings, fetch: ProviderFetch): Promise<LinkingFlow | null> {
  try {
    // The client id plays no part in the choice; the person may not have pasted it yet.
    return (await resolveProvider({ ...settings, clientId: settings.clientId?.trim() || 'not-yet-known' }, fetch)).flow;
  } catch {
    return null;
  }
}

function chooseFlow(
  choice: FlowChoice,
  profile: ProviderProfile,
  server: oauth.ServerMetadata,
  displayName: string,
): LinkingFlow {
  const available = { device: Boolean(server.device_authorization_endpoint), authorization: Boolean(server.authorization_endpoint) };
  const flow = choice === 'auto' ? profile.autoFlow(available) : choice;
  if (flow === 'device' && !available.device) {
    throw new LinkError('unsupported', `${displayName} offers no device flow; choose "pairing" or "auto".`);
  }
  // Only a flow the person chose is refused here: under `auto`, a provider with neither endpoint
  // still refreshes and revokes saved links, and the pairing page says what is missing at start.
  if (choice === 'pairing' && !available.authorization) {
    throw new LinkError('config', 'The pairing flow needs an authorization endpoint.');
  }
  return flow;
}

/**
 * The provider refused its device flow to this app (`detail` says how). The words name the setting
 * to change at the provider, and the pairing page as the other way.
 */
export function deviceFlowRefused(provider: Pick<Provider, 'displayName' | 'profile' | 'config'>, detail: string): LinkError {
  const setting = provider.profile.deviceFlowSetting ?? 'Allow the device authorization grant for this client at the provider';
  const endpoint = provider.config.serverMetadata().authorization_endpoint ? '' : ' and fill in the authorization endpoint';
  // The same answer comes for a wrong client id or secret.
  const credentials = /invalid_client|401/.test(detail) ? 'Check the client id and secret. If they are right: ' : '';
  return new LinkError(
    'device_flow_refused',
    `${provider.displayName} refused its device flow to this app (${detail}). ${credentials}${setting}; or set the ` +
      `account-link node's Flow to "pairing page"${endpoint}.`,
  );
}

const METADATA_FIELDS: [keyof Endpoints, keyof oauth.ServerMetadata][] = [
  ['authorizationEndpoint', 'authorization_endpoint'],
  ['deviceAuthorizationEndpoint', 'device_authorization_endpoint'],
  ['revocationEndpoint', 'revocation_endpoint'],
  ['userinfoEndpoint', 'userinfo_endpoint'],
];

/** The settings' endpoints (else the preset's) as server metadata, token endpoint aside. */
function endpointMetadata(settings: ProviderSettings, preset: Endpoints): Partial<oauth.ServerMetadata> {
  const entries = METADATA_FIELDS.map(([field, name]) => [name, settings[field]?.trim() || preset[field]] as const);
  return Object.fromEntries(entries.filter(([, v]) => v)) as Partial<oauth.ServerMetadata>;
}

function withOverrides(
  discovered: oauth.Configuration,
  settings: ProviderSettings,
  clientAuth: oauth.ClientAuth,
): oauth.Configuration {
  const overrides: Partial<oauth.ServerMetadata> = {
    ...endpointMetadata(settings, {}),
    ...(settings.tokenEndpoint?.trim() ? { token_endpoint: settings.tokenEndpoint.trim() } : {}),
  };
  if (Object.keys(overrides).length === 0) return discovered;
  const metadata = { ...discovered.serverMetadata(), ...overrides };
  return new (openidClient().Configuration)(metadata, settings.clientId, undefined, clientAuth);
}

function accountReader(config: oauth.Configuration, profile: ProviderProfile): (accessToken: string) => Promise<Account | null> {
  const endpoint = profile.account;
  if (endpoint) {
    return async (accessToken) => {
      const response = await openidClient().fetchProtectedResource(config, accessToken, new URL(endpoint.url), 'GET');
      if (!response.ok) {
        const refusal = endpoint.refusal?.(response.status, await response.text().catch(() => ''));
        if (refusal) throw refusal;
        return null;
      }
      const body: unknown = await response.json().catch(() => null);
      return body && typeof body === 'object' ? endpoint.read(body as Record<string, unknown>) : null;
    };
  }
  if (!config.serverMetadata().userinfo_endpoint) return async () => null;
  return async (accessToken) => {
    const info = await openidClient().fetchUserInfo(config, accessToken, openidClient().skipSubjectCheck);
    return account(info.sub, info.name ?? info.preferred_username ?? info.email ?? info.sub);
  };
}

/**
 * Some token endpoints (GitHub's) answer errors such as `authorization_pending` with HTTP 200.
 * OAuth says errors come with 400, and openid-client reads them only then.
 */
function fetchWithOAuthErrorStatus(fetch: ProviderFetch): ProviderFetch {
  return async (url, init) => {
    const response = await fetch(url, init);
    if (response.status !== 200 || !/json/i.test(response.headers.get('content-type') ?? '')) return response;
    const text = await response.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = undefined;
    }
    const isError =
      body !== null && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string' &&
      !('access_token' in body);
    return new Response(text, { status: isError ? 400 : 200, statusText: response.statusText, headers: response.headers });
  };
}

function checkedUrl(value: string | undefined, field: string): URL {
  let url: URL;
  try {
    url = new URL(value?.trim() ?? '');
  } catch {
    throw new LinkError('config', `The ${field} is not a valid URL.`);
  }
  if (url.protocol === 'https:') return url;
  // A bare name passes here and is looked up by the provider fetch before each request.
  if (url.protocol === 'http:' && hostStanding(url.hostname) !== 'outside') return url;
  if (url.protocol === 'http:') {
    throw new LinkError(
      'config',
      `The ${field} uses plain http to ${url.host}, which is not on the home network. Use https, or a server on this machine or the home network.`,
    );
  }
  throw new LinkError('config', `The ${field} must be an https URL.`);
}

function asDiscoveryError(err: unknown, issuer: URL): LinkError {
  if (err instanceof LinkError) return err;
  const cause = (err as { cause?: unknown }).cause;
  if (cause instanceof LinkError) return cause;
  return new LinkError(
    'config',
    `Could not read the provider's configuration from ${issuer.href} (.well-known/openid-configuration). Check the issuer URL.`,
    { cause: err },
  );
}
