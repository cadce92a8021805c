/** The linking engine. Knows nothing of Node-RED, MQTT or mDNS (DESIGN §2). */
export { systemClock, sleep, type Clock, type TimerHandle } from './clock.js';
export { deviceFlow, type LinkingContext, type LinkingMethod, type LinkingSession } from './device-flow.js';
export { LinkError, toLinkError, type LinkErrorCode } from './errors.js';
export { createProviderFetch, parseRetryAfter, type HttpOptions, type ProviderFetch } from './http.js';
export { Link, type LinkAttempt, type LinkOptions, type RevokeResult } from './link.js';
export {
  PRESETS,
  displayNameFor,
  isHomeNetworkHost,
  resolveProvider,
  type Account,
  type FlowChoice,
  type Provider,
  type ProviderKind,
  type ProviderSettings,
} from './providers.js';
export {
  englishPrompt,
  silentLogger,
  type LinkEvent,
  type LinkEventType,
  type LinkState,
  type Logger,
  type PromptFormatter,
  type Snapshot,
} from './snapshot.js';
export { TokenStore, type StoredLink, type TokenSet } from './store.js';
