import * as oauth from 'openid-client';
import { LinkError } from './errors.js';
import type { ProviderFetch } from './http.js';

export type ProviderKind = 'spotify' | 'github' | 'google' | 'microsoft' | 'oidc' | 'custom';
export type FlowChoice = 'auto' | 'device' | 'pairing';

/** What a person types into the account-link config node (DESIGN §3). */
export interface ProviderSettings {
  provider: ProviderKind;
  clientId: string;
  clientSecret?: string;
  scope?: string;
  flow?: FlowChoice;
  /** For `oidc`: discovery at `<issuer>/.well-known/…`. */
  issuer?: string;
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  deviceAuthorizationEndpoint?: string;
  revocationEndpoint?: string;
  userinfoEndpoint?: string;
}

export interface Account {
  id: string;
  name: string;
}

/** A provider ready to talk to: endpoints resolved and openid-client configured. */
export interface Provider {
  kind: ProviderKind;
  /** Shown to people: "Spotify", or the issuer's host. */
  displayName: string;
  config: oauth.Configuration;
  flow: 'device' | 'pairing';
  scope: string;
  canRevoke: boolean;
  /** Where a person removes the app's access by hand (DESIGN §3, revoke). */
  manageUrl: string | null;
  /** Refresh tokens die this long after approval whatever refreshes happen (Spotify: 180 days). */
  refreshHorizonMs: number | null;
  /** Reads the linked account's identity with a fresh access token. */
  fetchAccount(accessToken: string): Promise<Account | null>;
}

interface Preset {
  displayName: string;
  authorizationEndpoint?: string;
  tokenEndpoint: string;
  deviceAuthorizationEndpoint?: string;
  revocationEndpoint?: string;
  userinfoEndpoint?: string;
  /** A non-OIDC profile endpoint and how to read it. */
  profile?: { url: string; read: (body: Record<string, unknown>) => Account | null };
  scope: string;
  manageUrl?: string;
  refreshHorizonMs?: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

export const PRESETS: Readonly<Record<Exclude<ProviderKind, 'oidc' | 'custom'>, Preset>> = {
  spotify: {
    displayName: 'Spotify',
    authorizationEndpoint: 'https://accounts.spotify.com/authorize',
    tokenEndpoint: 'https://accounts.spotify.com/api/token',
    profile: {
      url: 'https://api.spotify.com/v1/me',
      read: (me) => account(me.id, me.display_name ?? me.id),
    },
    scope: 'user-read-playback-state user-modify-playback-state user-read-currently-playing',
    manageUrl: 'https://www.spotify.com/account/apps/',
    refreshHorizonMs: 180 * DAY_MS,
  },
  github: {
    displayName: 'GitHub',
    authorizationEndpoint: 'https://github.com/login/oauth/authorize',
    tokenEndpoint: 'https://github.com/login/oauth/access_token',
    deviceAuthorizationEndpoint: 'https://github.com/login/device/code',
    profile: {
      url: 'https://api.github.com/user',
      read: (user) => account(user.id, user.name ?? user.login),
    },
    scope: 'read:user',
    manageUrl: 'https://github.com/settings/applications',
  },
  google: {
    displayName: 'Google',
    authorizationEndpoint: 'https://accounts.google.com/o/oauth2/v2/auth',
    tokenEndpoint: 'https://oauth2.googleapis.com/token',
    deviceAuthorizationEndpoint: 'https://oauth2.googleapis.com/device/code',
    revocationEndpoint: 'https://oauth2.googleapis.com/revoke',
    userinfoEndpoint: 'https://openidconnect.googleapis.com/v1/userinfo',
    scope: 'openid profile',
    manageUrl: 'https://myaccount.google.com/permissions',
  },
  microsoft: {
    displayName: 'Microsoft',
    authorizationEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/authorize',
    tokenEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/token',
    deviceAuthorizationEndpoint: 'https://login.microsoftonline.com/common/oauth2/v2.0/devicecode',
    userinfoEndpoint: 'https://graph.microsoft.com/oidc/userinfo',
    scope: 'openid profile offline_access User.Read',
    manageUrl: 'https://account.live.com/consent/Manage',
  },
};

/** The provider's name for people, before (or without) resolving it. */
export function displayNameFor(settings: Pick<ProviderSettings, 'provider' | 'issuer' | 'tokenEndpoint'>): string {
  if (settings.provider !== 'oidc' && settings.provider !== 'custom' && PRESETS[settings.provider]) {
    return PRESETS[settings.provider].displayName;
  }
  try {
    return new URL((settings.provider === 'oidc' ? settings.issuer : settings.tokenEndpoint) ?? '').host;
  } catch {
    return 'the provider';
  }
}

const OIDC_DEFAULT_SCOPE = 'openid profile offline_access';

function account(id: unknown, name: unknown): Account | null {
  if ((typeof id !== 'string' && typeof id !== 'number') || id === '') return null;
  return { id: String(id), name: typeof name === 'string' && name ? name : String(id) };
}

/**
 * Resolves settings into a Provider: presets, overrides, `oidc` discovery or `custom` endpoints.
 * Rejects with a `config` LinkError that names the field to fix.
 */
export async function resolveProvider(settings: ProviderSettings, fetch: ProviderFetch): Promise<Provider> {
  if (!settings.clientId?.trim()) throw new LinkError('config', 'The client id is missing.');
  const clientAuth = settings.clientSecret ? oauth.ClientSecretPost(settings.clientSecret) : oauth.None();
  const customFetch = fetchWithOAuthErrorStatus(fetch);

  let config: oauth.Configuration;
  let preset: Preset | undefined;
  let displayName: string;
  if (settings.provider === 'oidc') {
    const issuer = checkedUrl(settings.issuer, 'issuer');
    displayName = issuer.host;
    try {
      config = await oauth.discovery(issuer, settings.clientId, undefined, clientAuth, {
        [oauth.customFetch]: customFetch,
        execute: issuer.protocol === 'http:' ? [oauth.allowInsecureRequests] : [],
      });
    } catch (err) {
      throw asDiscoveryError(err, issuer);
    }
    config = withOverrides(config, settings, clientAuth);
  } else {
    preset = settings.provider === 'custom' ? undefined : PRESETS[settings.provider];
    if (settings.provider !== 'custom' && !preset) {
      throw new LinkError('config', `Unknown provider "${String(settings.provider)}".`);
    }
    const tokenEndpoint = checkedUrl(settings.tokenEndpoint || preset?.tokenEndpoint, 'token endpoint');
    displayName = preset?.displayName ?? tokenEndpoint.host;
    const metadata: oauth.ServerMetadata = {
      issuer: tokenEndpoint.origin,
      token_endpoint: tokenEndpoint.href,
      ...endpointOverrides(settings, preset),
    };
    config = new oauth.Configuration(metadata, settings.clientId, undefined, clientAuth);
  }
  config[oauth.customFetch] = customFetch;
  const server = config.serverMetadata();
  for (const [field, value] of Object.entries(server)) {
    if (field.endsWith('_endpoint') && typeof value === 'string') checkedUrl(value, field.replace(/_/g, ' '));
  }
  if (Object.values(server).some((v) => typeof v === 'string' && v.startsWith('http:'))) {
    oauth.allowInsecureRequests(config);
  }

  const hasDevice = Boolean(server.device_authorization_endpoint);
  const flowChoice = settings.flow ?? 'auto';
  if (flowChoice === 'device' && !hasDevice) {
    throw new LinkError('unsupported', `${displayName} offers no device flow; choose "pairing" or "auto".`);
  }
  if (flowChoice === 'pairing' && !server.authorization_endpoint) {
    throw new LinkError('config', 'The pairing flow needs an authorization endpoint.');
  }
  const flow = flowChoice === 'auto' ? (hasDevice ? 'device' : 'pairing') : flowChoice;

  return {
    kind: settings.provider,
    displayName,
    config,
    flow,
    scope: settings.scope?.trim() || preset?.scope || OIDC_DEFAULT_SCOPE,
    canRevoke: Boolean(server.revocation_endpoint),
    manageUrl: preset?.manageUrl ?? null,
    refreshHorizonMs: preset?.refreshHorizonMs ?? null,
    fetchAccount: accountReader(config, preset),
  };
}

function endpointOverrides(settings: ProviderSettings, preset: Preset | undefined): Partial<oauth.ServerMetadata> {
  const pick = (value: string | undefined, fallback: string | undefined): string | undefined =>
    value?.trim() || fallback;
  const entries: [keyof oauth.ServerMetadata, string | undefined][] = [
    ['authorization_endpoint', pick(settings.authorizationEndpoint, preset?.authorizationEndpoint)],
    ['device_authorization_endpoint', pick(settings.deviceAuthorizationEndpoint, preset?.deviceAuthorizationEndpoint)],
    ['revocation_endpoint', pick(settings.revocationEndpoint, preset?.revocationEndpoint)],
    ['userinfo_endpoint', pick(settings.userinfoEndpoint, preset?.userinfoEndpoint)],
  ];
  return Object.fromEntries(entries.filter(([, v]) => v)) as Partial<oauth.ServerMetadata>;
}

function withOverrides(
  discovered: oauth.Configuration,
  settings: ProviderSettings,
  clientAuth: oauth.ClientAuth,
): oauth.Configuration {
  const overrides: Partial<oauth.ServerMetadata> = {
    ...endpointOverrides(settings, undefined),
    ...(settings.tokenEndpoint?.trim() ? { token_endpoint: settings.tokenEndpoint.trim() } : {}),
  };
  if (Object.keys(overrides).length === 0) return discovered;
  const metadata = { ...discovered.serverMetadata(), ...overrides };
  return new oauth.Configuration(metadata, settings.clientId, undefined, clientAuth);
}

function accountReader(
  config: oauth.Configuration,
  preset: Preset | undefined,
): (accessToken: string) => Promise<Account | null> {
  const profile = preset?.profile;
  if (profile) {
    return async (accessToken) => {
      const response = await oauth.fetchProtectedResource(config, accessToken, new URL(profile.url), 'GET');
      if (response.status === 403) {
        const text = await response.text();
        // Spotify says "User not registered in the Developer Dashboard" or "… the user may not be registered."
        if (/not (?:be )?registered/i.test(text)) {
          throw new LinkError(
            'user_not_registered',
            'This Spotify account is not on the app’s user list. In the Spotify Developer Dashboard open the app, ' +
              'go to "User Management" and add the person’s name and Spotify e-mail, then link again.',
          );
        }
      }
      if (!response.ok) return null;
      const body: unknown = await response.json().catch(() => null);
      return body && typeof body === 'object' ? profile.read(body as Record<string, unknown>) : null;
    };
  }
  if (!config.serverMetadata().userinfo_endpoint) return async () => null;
  return async (accessToken) => {
    const info = await oauth.fetchUserInfo(config, accessToken, oauth.skipSubjectCheck);
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
  if (url.protocol === 'http:' && isHomeNetworkHost(url.hostname)) return url;
  if (url.protocol === 'http:') {
    throw new LinkError(
      'config',
      `The ${field} uses plain http on a public address (${url.host}). Use https, or a server on this machine or the home network.`,
    );
  }
  throw new LinkError('config', `The ${field} must be an https URL.`);
}

/** Loopback, private ranges (RFC 1918, RFC 4193), link-local, and names that only resolve at home. */
export function isHomeNetworkHost(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (/\.(local|lan|home\.arpa|internal)$/.test(host) || /^[a-z0-9-]+$/.test(host)) return true;
  const v4 = host.match(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254);
  }
  if (host.includes(':')) {
    return host === '::1' || /^f[cd][0-9a-f]{2}:/.test(host) || /^fe[89ab][0-9a-f]:/.test(host);
  }
  return false;
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
