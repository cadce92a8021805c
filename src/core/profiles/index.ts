import { LinkError } from '../errors.js';
import type { ProviderKind, ProviderProfile, RedirectContext } from './profile.js';
import { custom, oidc } from './generic.js';
import { github } from './github.js';
import { google } from './google.js';
import { microsoft } from './microsoft.js';
import { spotify } from './spotify.js';

export type {
  AccountEndpoint,
  Endpoints,
  ExpiryModel,
  LinkingFlow,
  ProviderKind,
  ProviderProfile,
  RedirectContext,
  ShortLifetime,
} from './profile.js';

/** Every provider a config node can choose, in the order the dialog lists them. */
export const PROFILES: Readonly<Record<ProviderKind, ProviderProfile>> = { spotify, github, google, microsoft, oidc, custom };

/** The profile of `kind`, or undefined for a kind this version does not know. */
export function profileFor(kind: string): ProviderProfile | undefined {
  return Object.prototype.hasOwnProperty.call(PROFILES, kind) ? PROFILES[kind as ProviderKind] : undefined;
}

/** The profile of `kind`, or the generic rules when this version does not know it. */
function rulesFor(kind: string): ProviderProfile {
  return profileFor(kind) ?? PROFILES.custom;
}

/**
 * The redirect URI to register when the person left the field empty: the provider's profile
 * decides (Spotify refuses plain http except on a loopback IP, so a hub without https gets that).
 */
export function suggestedRedirectUri(options: { provider: string } & RedirectContext): string {
  return rulesFor(options.provider).suggestRedirectUri(options);
}

/**
 * Why `redirectUri` cannot work with this provider: not a web address, or refused by the
 * provider's rule. Null when it can. The pairing page checks it before showing a code, the editor
 * before the person registers it.
 */
export function redirectUriProblem(provider: string, redirectUri: string, httpNodeRoot = '/'): LinkError | null {
  let url: URL;
  try {
    url = new URL(redirectUri);
  } catch {
    return new LinkError('config', `The redirect URI "${redirectUri}" is not a valid address.`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return new LinkError('config', 'The redirect URI must start with https:// (or http:// for the hub on the home network).');
  }
  return rulesFor(provider).checkRedirectUri(url, httpNodeRoot);
}

/** What the editor shows of a profile: no functions, nothing secret. */
export type ProfileSummary = Pick<
  ProviderProfile,
  'kind' | 'displayName' | 'endpoints' | 'defaultScope' | 'secretRequired' | 'consoleUrl' | 'manageUrl' | 'peopleLimit' | 'hints'
> & {
  /** True when the preset alone already has a device flow (so `auto` needs no pairing page). */
  deviceFlow: boolean;
};

/** Summaries of every profile, for the editor (admin route `GET account-link/profiles`). */
export function profileSummaries(): ProfileSummary[] {
  return Object.values(PROFILES).map((p) => ({
    kind: p.kind,
    displayName: p.displayName,
    endpoints: p.endpoints,
    defaultScope: p.defaultScope,
    secretRequired: p.secretRequired,
    consoleUrl: p.consoleUrl,
    manageUrl: p.manageUrl,
    peopleLimit: p.peopleLimit,
    hints: p.hints,
    deviceFlow: p.autoFlow({ device: Boolean(p.endpoints.deviceAuthorizationEndpoint), authorization: true }) === 'device',
  }));
}
