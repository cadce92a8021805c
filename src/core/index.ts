/**
 * The linking engine. Knows nothing of Node-RED, MQTT or mDNS: the node files, the MQTT publisher
 * and the pairing page are its users, and listen to what a `Link` emits.
 *
 * Every export below carries its own TSDoc where it is declared; this list says what each is for.
 */

/** Who a link is linked to. */
export type { Account } from './account.js';
/** The action table: one way to start, cancel, refresh, revoke or read a link, one reply shape. */
export {
  LINK_ACTIONS,
  isLinkAction,
  refusedReply,
  runAction,
  type ActionOutcome,
  type ActionReply,
  type LinkAction,
} from './actions.js';
/** Time as the engine sees it: `systemClock` in production, a manual clock in tests. */
export { systemClock, sleep, type Clock, type TimerHandle } from './clock.js';
/** RFC 8628 device flow, and the shape every linking method (device flow, pairing page) has. */
export { deviceFlow, type LinkingContext, type LinkingMethod, type LinkingSession } from './device-flow.js';
/** Every failure as a code plus plain words. */
export { LinkError, toLinkError, type LinkErrorCode } from './errors.js';
/** The one way the engine talks HTTP to providers: timeouts, size caps, Retry-After. */
export { createProviderFetch, parseRetryAfter, type HttpOptions, type ProviderFetch } from './http.js';
/** The rule for hosts that may be reached over plain http (the home network). */
export { hostStanding, isHomeNetworkHost, lookupAll, resolvesToHomeNetwork, type HostLookup, type HostStanding } from './home-network.js';
/** One linked account: its state machine, tokens, refreshes and events. */
export { Link } from './link.js';
/** What a Link is made of, and what its start and revoke give. */
export type { LinkAttempt, LinkOptions, RevokeResult } from './link-types.js';
/** Where the engine writes its log lines. */
export { silentLogger, type Logger } from './logger.js';
/** The hub's pairing page logic (codes, signed state, PKCE) for providers without a device flow. */
export { PairingCoordinator } from './pairing.js';
/** The pairing coordinator's options and results. */
export type {
  CallbackResult,
  CodeResult,
  PairingCoordinatorOptions,
  PairingMethodOptions,
  SnapshotSource,
} from './pairing-types.js';
/** Pairing codes: how they are made, shown and read back. */
export { CODE_ALPHABET, CODE_LENGTH, CODE_LIFETIME_MS, formatCode, normalizeCode, randomCode } from './pairing-codes.js';
/** Provider profiles: everything provider-specific, one file per provider. */
export {
  PROFILES,
  profileFor,
  profileSummaries,
  redirectUriProblem,
  suggestedRedirectUri,
  type Endpoints,
  type ExpiryModel,
  type LinkingFlow,
  type ProfileSummary,
  type ProviderKind,
  type ProviderProfile,
  type RedirectContext,
} from './profiles/index.js';
/** Settings resolved into a provider ready to talk to. */
export { displayNameFor, expectedFlow, resolveProvider, type FlowChoice, type Provider, type ProviderSettings } from './providers.js';
/** Redirect URIs and pairing-page addresses. */
export {
  defaultRedirectUri,
  isLoopbackRedirect,
  loopbackRedirectUri,
  normalizeRoot,
  pairingPageUrl,
  responseFromPastedAddress,
  suggestedLoopbackRedirect,
} from './redirects.js';
/** What users see of a link (snapshot), what happened to it (events), and the prompt's words. */
export {
  englishPrompt,
  LINK_EVENT_TYPES,
  type ErrorSummary,
  type LinkEvent,
  type LinkEventType,
  type LinkState,
  type PromptFormatter,
  type Snapshot,
} from './snapshot.js';
/** Tokens at rest, encrypted. */
export { TokenStore, type StoredLink, type TokenSet } from './store.js';
