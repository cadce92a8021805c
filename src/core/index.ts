/**
 * The linking engine. Knows nothing of Node-RED, MQTT or mDNS: the node files, the MQTT publisher
 * and the pairing page are its users, and listen to what a `Link` emits.
 *
 * Every export below carries its own TSDoc where it is declared; this list says what each is for.
 */

/** Who a link is linked to. */
export type { Account } from './account.js';
/** One summary per connected account for every review, and the people count per app (Spotify's 5). */
export {
  countAppPeople,
  summarizeLink,
  summarizeLinks,
  type AppMember,
  type AppPeople,
  type LinkSummary,
  type Summarizable,
} from './accounts.js';
/** The action table: one way to start, cancel, refresh, revoke or read a link, one reply shape. */
export {
  LINK_ACTIONS,
  actionOptions,
  isLinkAction,
  refusedReply,
  runAction,
  statusReply,
  type ActionOptions,
  type ActionOutcome,
  type ActionReply,
  type LinkAction,
} from './actions.js';
/** A dependency loaded the first time it is needed, not at start-up. */
export { onFirstUse, openidClient, qrcode, undici } from './on-first-use.js';
/** Calling a linked account's API: the token only where it belongs, 401 renewal, one Retry-After queue per app. */
export {
  API_METHODS,
  ApiRequester,
  DEFAULT_API_MAX_BODY_BYTES,
  type ApiLink,
  type ApiMethod,
  type ApiRequest,
  type ApiRequesterOptions,
  type ApiResponse,
} from './api-request.js';
/** Request bodies as core `http request` sends them, and response bodies as it hands them over. */
export { decodeBody, encodeRequest, type EncodedRequest, type ResponseFormat } from './api-body.js';
/** The Retry-After queue every request of one app waits in. */
export { DEFAULT_RETRY_AFTER_MS, MAX_HOLD_MS, RateGate, gateFor, type GateOwner, type GateState } from './api-gate.js';
/** Where a link's token may go. */
export { parseAllowedHosts, tokenDestinations, tokenUrl, type HostEntry, type TokenDestinations } from './api-hosts.js';
/** Time as the engine sees it: `systemClock` in production, a manual clock in tests. */
export { systemClock, sleep, type Clock, type TimerHandle } from './clock.js';
/** RFC 8628 device flow, and the shape every linking method (device flow, pairing page) has. */
export { deviceFlow, type LinkingContext, type LinkingMethod, type LinkingProgress, type LinkingSession } from './device-flow.js';
/** Every failure as a code plus plain words. */
export { LinkError, toLinkError, type LinkErrorCode } from './errors.js';
/** The one way the engine talks HTTP to providers: timeouts, size caps, Retry-After. */
export { createProviderFetch, parseRetryAfter, type HttpOptions, type ProviderFetch } from './http.js';
/** The rule for hosts that may be reached over plain http (the home network). */
export { hostStanding, isHomeNetworkHost, lookupAll, resolvesToHomeNetwork, type HostLookup, type HostStanding } from './home-network.js';
/** One linked account: its state machine, tokens, refreshes and events. */
export { Link } from './link.js';
/** What a Link is made of, and what its start and revoke give. */
export type { AccountChangePolicy, LinkAttempt, LinkOptions, RevokeResult, StartOptions } from './link-types.js';
/** Where the engine writes its log lines. */
export { silentLogger, type Logger } from './logger.js';
/** The hub's pairing page logic (codes, signed state, PKCE) for providers without a device flow. */
export { PairingCoordinator } from './pairing.js';
/** The pairing coordinator's options and results. */
export type {
  AuthorizeResult,
  CallbackResult,
  CodeResult,
  PairingClient,
  PairingConfirmation,
  PairingCoordinatorOptions,
  PairingMethodOptions,
  SnapshotSource,
} from './pairing-types.js';
/** Pairing codes: how they are made (letters or digits), shown and read back. */
export {
  CODE_ALPHABET,
  CODE_LENGTH,
  CODE_LIFETIME_MS,
  CODE_STYLES,
  codeStyleOf,
  DIGIT_CODE_LENGTH,
  formatCode,
  normalizeCode,
  randomCode,
  type CodeStyle,
} from './pairing-codes.js';
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
  type ShortLifetime,
} from './profiles/index.js';
/** The relink warning ladder (14, 3 and 1 days before a link ends) and what the store keeps of it. */
export { DEFAULT_RELINK_LEAD_DAYS, RelinkLadder, type RelinkWarnings } from './relink-warnings.js';
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
  englishRelinkPrompt,
  LINK_EVENT_TYPES,
  type ErrorSummary,
  type LinkEvent,
  type LinkEventType,
  type LinkState,
  type PromptFormatter,
  type RelinkPromptFormatter,
  type RelinkPromptParts,
  type Snapshot,
} from './snapshot.js';
/** Codes and addresses in words for speakers: the spelling alphabets of en, de, fr and es. */
export {
  ENGLISH_SPEECH,
  englishSpokenPrompt,
  speakAddress,
  spellCode,
  spellingLanguage,
  spokenCode,
  type SpeechOptions,
  type SpellingLanguage,
} from './spoken.js';
/** Tokens at rest, encrypted. */
export { TokenStore, type StoredLink, type TokenSet } from './store.js';
