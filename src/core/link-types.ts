import type { Clock } from './clock.js';
import type { LinkError } from './errors.js';
import type { LinkingMethod, LinkingProgress, LinkingSession } from './device-flow.js';
import type { HttpOptions } from './http.js';
import type { Logger } from './logger.js';
import type { ProviderSettings } from './providers.js';
import type { LinkEvent, LinkState, PromptFormatter, RelinkPromptFormatter, Snapshot } from './snapshot.js';
import type { SpeechOptions } from './spoken.js';
import type { StoredLink, TokenStore } from './store.js';

/** What a Link is made of. */
export interface LinkOptions {
  /** Stable id (the config node's id): names the store file. */
  id: string;
  /** Slug `[a-z0-9-]+` used in topics and pages (the snapshot's `link`). */
  slug: string;
  settings: ProviderSettings;
  store: TokenStore;
  clock?: Clock;
  http?: HttpOptions;
  logger?: Logger;
  /** Source of jitter in [0, 1). */
  random?: () => number;
  formatPrompt?: PromptFormatter;
  /** How `user_code_spoken` and `prompt_spoken` are worded; English when not given. */
  speech?: SpeechOptions;
  /** What people call this link (the config node's name); the slug when empty. */
  name?: string;
  /** The prompt of a link whose end is near (default: English). */
  formatRelinkPrompt?: RelinkPromptFormatter;
  /** Days before `refresh_expires_at` of the first `relink_soon` warning (default 14; 0: none). 3 and 1 follow. */
  relinkLeadDays?: number;
  /**
   * `spaced` (default): a refresh someone asks for joins one under way, is answered from the
   * snapshot within 10 s of the last token call, and refused (`retry_later`) during back-off.
   * `unspaced` sends every request to the provider, back-off or not (only the wait before confirming an
   * `invalid_grant` is kept): for test rigs that answer one request each.
   */
  refreshRequests?: 'spaced' | 'unspaced';
  /** How codes are made when the provider has no device flow (the pairing page). */
  pairing?: LinkingMethod;
  /** What a relink that comes back with another account does: `refuse` (the default) keeps the old link. */
  accountChange?: AccountChangePolicy;
}

/**
 * `refuse`: a relink that signs in as a different account than the link had is refused and the
 * old link kept; `allow`: the new account replaces the old one.
 */
export type AccountChangePolicy = 'refuse' | 'allow';

/** How one linking attempt may end. */
export interface StartOptions {
  /** Let this attempt replace the linked account with another one, whatever `accountChange` says. */
  replaceAccount?: boolean;
}

/** What `start()` gives: the code to show now, and the snapshot the attempt ends with. */
export interface LinkAttempt {
  pending: Snapshot;
  finished: Promise<Snapshot>;
}

/** What `revoke()` gives: the snapshot after it, and where to check the app's access by hand. */
export interface RevokeResult {
  snapshot: Snapshot;
  /** Where the person can remove the app's access by hand, when the provider has such a page. */
  manageUrl: string | null;
}

/** The linking attempt under way: its code and how to stop it. */
export interface LinkingRun {
  /** The code on show; replaced when the provider refuses its device flow and the pairing page takes over. */
  session: LinkingSession;
  controller: AbortController;
  finished: Promise<Snapshot>;
  /** Set once the code was entered on the pairing page: the snapshot then waits for the sign-in. */
  progress?: LinkingProgress;
  replaceAccount: boolean;
  /** The link and its error as they were when the attempt began: a cancel leaves them so. */
  before: { stored: StoredLink | null; error: LinkError | null; state: LinkState };
}

/** A LinkEvent before it is stamped with its time. */
export type EventBody = LinkEvent extends infer E ? (E extends unknown ? Omit<E, 'at'> : never) : never;
