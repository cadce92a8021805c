import type * as oauth from 'openid-client';
import type { Account } from './account.js';
import type { Clock, TimerHandle } from './clock.js';
import type { LinkError } from './errors.js';
import type { CodeStyle } from './pairing-codes.js';
import type { Provider } from './providers.js';
import type { Snapshot } from './snapshot.js';

/** How the runtime sets up its one PairingCoordinator. */
export interface PairingCoordinatorOptions {
  /** Node-RED's `httpNodeRoot` ('/' by default): the page lives at `<root>link`. */
  httpNodeRoot?: string;
  /** Key that signs `state`. Default: 32 random bytes for this process (a restart voids open sign-ins, as it voids codes). */
  stateKey?: Uint8Array;
  /** Times the per-address limit. Attempts use the Clock of their LinkingContext. */
  clock?: Clock;
  /** Lines for the runtime log. Never given a code, token, verifier or state. */
  log?: (message: string) => void;
  limits?: {
    wrongCodesPerCode?: number;
    failuresPerAddress?: number;
    addressWindowMs?: number;
  };
}

/** Something that emits the Link's snapshots (a `Link`): lets the callback page report how linking ended. */
export interface SnapshotSource {
  on(event: 'snapshot', listener: (snapshot: Snapshot) => void): unknown;
  off(event: 'snapshot', listener: (snapshot: Snapshot) => void): unknown;
}

/** Where one Link's pairing page and redirect URI are. */
export interface PairingMethodOptions {
  /** How a phone reaches the hub, e.g. `http://192.168.1.20:1880` (see `defaultPublicUrl` in src/web). */
  publicUrl: string;
  /** The redirect URI registered at the provider. Default `<publicUrl><httpNodeRoot>link/callback`. */
  redirectUri?: string;
  /**
   * The Link using this method, read when a sign-in comes back. With it the page says "Linked as …"
   * only once the Link has stored the tokens; without it the page reads the account itself.
   */
  source?: () => SnapshotSource | undefined;
  /** How the codes look: `letters` (default) or `digits`; the limits are the same. */
  codeStyle?: CodeStyle;
}

/** What the page does after a code was entered. */
export type CodeResult =
  | { kind: 'redirect'; authorizationUrl: string }
  | { kind: 'malformed' }
  | { kind: 'wrong'; cancelledCodes: number }
  | { kind: 'no_pending' }
  | { kind: 'used' }
  | { kind: 'expired' }
  | { kind: 'cancelled' }
  | { kind: 'rate_limited'; retryAfterMs: number };

/** What the page shows after the provider sent the person back. */
export type CallbackResult =
  | { kind: 'linked'; provider: string; account: Account | null }
  | { kind: 'failed'; provider: string; error: LinkError; redirectUri: string }
  | { kind: 'invalid_state' }
  | { kind: 'state_used' }
  | { kind: 'missing_response' }
  | { kind: 'rate_limited'; retryAfterMs: number };

export type PairingStatus = 'waiting' | 'authorizing' | 'exchanging';

/** One code shown by the hub, from its making until tokens (or a failure) reach the Link. */
export interface PairingAttempt {
  id: string;
  code: string;
  status: PairingStatus;
  wrongTries: number;
  /** Epoch ms (the attempt's clock) after which neither the code nor a sign-in is accepted. */
  deadline: number;
  expiresAt: number;
  provider: Provider;
  clock: Clock;
  signal: AbortSignal;
  log: (message: string) => void;
  redirectUri: string;
  hubCallback: string;
  source: PairingMethodOptions['source'];
  timer: TimerHandle | undefined;
  state: string | null;
  verifier: string | null;
  resolve: (response: oauth.TokenEndpointResponse) => void;
  reject: (error: LinkError) => void;
  onAbort: () => void;
}

