import { LinkError } from '../errors.js';
import { defaultRedirectUri } from '../redirects.js';
import type { Account } from '../account.js';

/** The provider presets and the two generic kinds a person can choose in the config node. */
export type ProviderKind = 'spotify' | 'github' | 'google' | 'microsoft' | 'oidc' | 'custom';

/** How linking runs: the provider's own device flow, or the hub's pairing page. */
export type LinkingFlow = 'device' | 'pairing';

/** OAuth endpoints by their settings name. */
export interface Endpoints {
  authorizationEndpoint?: string;
  tokenEndpoint?: string;
  deviceAuthorizationEndpoint?: string;
  revocationEndpoint?: string;
  userinfoEndpoint?: string;
}

/**
 * When a link needs a person again. Whatever the model, a token response that states the refresh
 * token's lifetime (`refresh_token_expires_in`, `refresh_expires_in`) is believed over it, the
 * latest statement winning.
 * - `fixed`: the provider ends every grant a set time after approval, refreshes or not (Spotify).
 * - `inactivity`: the refresh token dies after `idleMs` unused (Microsoft); the link refreshes at
 *   least every third of that, even when nobody asks for a token.
 * - `stated`: the provider says it in its token responses (GitHub apps, Google, Keycloak).
 *   `shortLifetime` names a lifetime that means something worth telling (Google's Testing apps).
 * - `none`: nothing is known beyond what a response may state.
 */
export type ExpiryModel =
  | { kind: 'fixed'; afterApprovalMs: number }
  | { kind: 'inactivity'; idleMs: number }
  | { kind: 'stated'; shortLifetime?: ShortLifetime }
  | { kind: 'none' };

/** A stated lifetime this short has a known cause, which the prompt and the dialog explain. */
export interface ShortLifetime {
  atMostMs: number;
  /** Catalog key `account-link.hint.<hint>` of the explanation. */
  hint: string;
  /** The explanation in English, for the engine's own prompt. */
  english: string;
}

/** Where the hub's pairing page sends the person back, as the editor and the runtime suggest it. */
export interface RedirectContext {
  /** How a phone reaches the hub, e.g. `http://192.168.1.20:1880`. */
  publicUrl: string;
  port: number | string;
  /** Node-RED's `httpNodeRoot`; default `/`. */
  httpNodeRoot?: string;
}

/** A non-OIDC profile endpoint and how to read the account from its JSON. */
export interface AccountEndpoint {
  url: string;
  read(body: Record<string, unknown>): Account | null;
  /**
   * A refusal with words worth showing (Spotify's "user not registered"): a LinkError, or null to
   * treat the answer as "account unknown".
   */
  refusal?(status: number, text: string): LinkError | null;
}

/**
 * Everything provider-specific, in one place per provider. The engine, the pairing page, the
 * runtime and the editor (through an admin route) read these rules here and nowhere else.
 */
export interface ProviderProfile {
  kind: ProviderKind;
  /** Shown to people. Null for `oidc`/`custom`, whose name comes from their address. */
  displayName: string | null;
  /** Preset endpoints; the config node's fields override them. */
  endpoints: Endpoints;
  /**
   * What the request node resolves a relative URL against (ending in `/`). Null for `oidc`/`custom`:
   * their API base is the issuer's origin.
   */
  apiBase: string | null;
  /** Scopes asked for when the config node's field is empty. */
  defaultScope: string;
  /** Whether the app's client secret must be given (Google's device flow needs it). */
  secretRequired: boolean;
  /** Where the app is registered (the developer console). */
  consoleUrl: string | null;
  /** Where a person reviews and removes the apps linked to their account. */
  manageUrl: string | null;
  /**
   * How many people one app (client id) may link, when the provider limits it: Spotify's development
   * mode allows 5. The editor says "3 of 5 people linked with this app" and warns before a sixth.
   */
  peopleLimit: number | null;
  /** Catalog keys (`account-link.hint.<key>`) of the setup hints the dialog shows for this provider. */
  hints: readonly string[];
  /** When a link needs a person again (README: "How long a link lasts"). */
  expiry: ExpiryModel;
  /**
   * Extra authorization-request parameters for the pairing page. Where the provider has an account
   * chooser, every (re)link asks for it, so a phone signed in to another account does not link that
   * one silently.
   */
  authorizeParams: Readonly<Record<string, string>>;
  /**
   * The setting at the provider that allows this app its device flow, in words (GitHub's "Enable
   * Device Flow"): named when the provider refuses the device flow. Null: a generic sentence.
   */
  deviceFlowSetting: string | null;
  /** How the account is read; null means the OIDC userinfo endpoint, when there is one. */
  account: AccountEndpoint | null;
  /** Which flow `flow: auto` picks, given the endpoints the provider turned out to have. */
  autoFlow(available: { device: boolean; authorization: boolean }): LinkingFlow;
  /** The redirect URI to register when the person left the field empty. */
  suggestRedirectUri(context: RedirectContext): string;
  /** Null when the provider takes `redirectUri`, else the error that says what to register instead. */
  checkRedirectUri(redirectUri: URL, httpNodeRoot: string): LinkError | null;
  /**
   * Provider-specific wording for an OAuth error text (`error` + description), or null to use the
   * generic wording. `redirectUri` is the address the attempt used.
   */
  describeError(text: string, displayName: string, redirectUri: string, httpNodeRoot: string): LinkError | null;
}

/** The rules most providers follow: device flow when offered, any http(s) redirect URI. */
export function profile(overrides: Partial<ProviderProfile> & Pick<ProviderProfile, 'kind'>): ProviderProfile {
  return {
    displayName: null,
    endpoints: {},
    apiBase: null,
    defaultScope: 'openid profile offline_access',
    secretRequired: false,
    consoleUrl: null,
    manageUrl: null,
    peopleLimit: null,
    hints: [],
    expiry: { kind: 'none' },
    authorizeParams: {},
    deviceFlowSetting: null,
    account: null,
    autoFlow: ({ device }) => (device ? 'device' : 'pairing'),
    suggestRedirectUri: ({ publicUrl, httpNodeRoot }) => defaultRedirectUri(publicUrl, httpNodeRoot),
    checkRedirectUri: () => null,
    describeError: (text, displayName, redirectUri) => unknownRedirect(text, displayName, redirectUri, ''),
    ...overrides,
  };
}

/**
 * The provider does not know the redirect URI: say exactly what to register. `where` names the
 * provider's settings page when it is worth naming.
 */
export function unknownRedirect(text: string, displayName: string, redirectUri: string, where: string): LinkError | null {
  if (!/invalid redirect.?uri|redirect_uri mismatch|redirect_uri did not match/i.test(text)) return null;
  return new LinkError(
    'invalid_redirect_uri',
    `${displayName} does not know the redirect URI ${redirectUri}. Add exactly this address to the app's ` +
      `Redirect URIs at ${displayName}${where}, save, and link again.`,
  );
}

/** An account from an id and a name, or null when the id is missing. */
export function account(id: unknown, name: unknown): Account | null {
  if ((typeof id !== 'string' && typeof id !== 'number') || id === '') return null;
  return { id: String(id), name: typeof name === 'string' && name ? name : String(id) };
}

export const DAY_MS = 24 * 60 * 60 * 1000;
