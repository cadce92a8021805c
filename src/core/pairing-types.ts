import type * as oauth from 'openid-client';
import type { Account } from './account.js';
import type { Clock, TimerHandle } from './clock.js';
import type { LinkingProgress } from './device-flow.js';
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
  /** Lines for the runtime log. Never given a code, token, verifier, state or browser key. */
  log?: (message: string) => void;
  limits?: {
    /** Wrong codes, from all addresses together, after which a waiting code dies (20). */
    wrongCodesPerCode?: number;
    /** Failures (wrong codes, bad sign-in answers) after which one address must wait (5). */
    failuresPerAddress?: number;
    /** The window those failures are counted in (15 minutes). */
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
  /** The link's name on the confirmation page (default: the Link's slug). */
  linkName?: string;
  /** How the codes look: `letters` (default) or `digits`; the limits are the same. */
  codeStyle?: CodeStyle;
}

/**
 * The browser on the other end of a page request: its address (for the per-address limit), its
 * browser key (the pairing cookie, when it sent one) and the origin it used (`http://host:port`).
 */
export interface PairingClient {
  address: string;
  browserKey: string | null;
  origin: string | null;
}

/** What the confirmation page shows after a right code (RFC 8628 §5.4), and what its button continues. */
export interface PairingConfirmation {
  /** The attempt's id: the Continue form sends it back. Not a secret (the state carries it too). */
  attempt: string;
  linkName: string;
  provider: string;
  /** Epoch ms the code was made, and how long ago that was. */
  codeMadeAt: number;
  codeAgeMs: number;
  /** Epoch ms after which the sign-in is no longer accepted. */
  expiresAt: number;
  redirectUri: string;
  /** What went wrong on the last try, when the person is starting the sign-in again. */
  lastError: LinkError | null;
}

/** What the page does after a code was entered. */
export type CodeResult =
  | { kind: 'confirm'; confirmation: PairingConfirmation; browserKey: string }
  | { kind: 'malformed' }
  | { kind: 'wrong'; cancelledCodes: number }
  | { kind: 'used' }
  | { kind: 'expired' }
  | { kind: 'cancelled' }
  | { kind: 'rate_limited'; retryAfterMs: number };

/** What the Continue button does. */
export type AuthorizeResult =
  | { kind: 'redirect'; authorizationUrl: string }
  /** This browser did not enter the code. */
  | { kind: 'not_bound' }
  /** The attempt has ended (expired, cancelled, finished). */
  | { kind: 'gone' };

/** What the page shows after the provider sent the person back. */
export type CallbackResult =
  | { kind: 'linked'; provider: string; account: Account | null }
  /** `retry`: the attempt is still usable, and this browser may start the sign-in again. */
  | { kind: 'failed'; provider: string; error: LinkError; redirectUri: string; retry: PairingConfirmation | null }
  | { kind: 'invalid_state' }
  | { kind: 'state_used' }
  | { kind: 'missing_response' }
  /** A browser that did not enter the code: nothing changes. */
  | { kind: 'not_bound' }
  /** A browser on the hub itself came back on another loopback name: send it on to where the code was entered. */
  | { kind: 'elsewhere'; origin: string }
  | { kind: 'rate_limited'; retryAfterMs: number };

/** `waiting` for the code; `confirming` after it (bound to a browser); then at the provider and back. */
export type PairingStatus = 'waiting' | 'confirming' | 'authorizing' | 'exchanging';

/** One code shown by the hub, from its making until tokens (or a failure) reach the Link. */
export interface PairingAttempt {
  id: string;
  code: string;
  status: PairingStatus;
  wrongTries: number;
  /** Epoch ms (the attempt's clock) after which neither the code nor a sign-in is accepted. */
  deadline: number;
  createdAt: number;
  expiresAt: number;
  provider: Provider;
  clock: Clock;
  signal: AbortSignal;
  log: (message: string) => void;
  progress: ((update: LinkingProgress) => void) | undefined;
  linkName: string;
  redirectUri: string;
  hubCallback: string;
  source: PairingMethodOptions['source'];
  timer: TimerHandle | undefined;
  /** Hash of the key of the browser that entered the code; null while the code waits. */
  browserHash: string | null;
  /** The origin the code was entered at (for a loopback answer arriving on another host name). */
  enteredAt: string | null;
  /** The last sign-in failure the person may try again after; the attempt ends with it if they do not. */
  lastError: LinkError | null;
  state: string | null;
  verifier: string | null;
  resolve: (response: oauth.TokenEndpointResponse) => void;
  reject: (error: LinkError) => void;
  onAbort: () => void;
}
