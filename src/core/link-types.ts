import type { Clock } from './clock.js';
import type { LinkingMethod, LinkingSession } from './device-flow.js';
import type { HttpOptions } from './http.js';
import type { Logger } from './logger.js';
import type { ProviderSettings } from './providers.js';
import type { LinkEvent, PromptFormatter, RelinkPromptFormatter, Snapshot } from './snapshot.js';
import type { TokenStore } from './store.js';

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
  session: LinkingSession;
  controller: AbortController;
  finished: Promise<Snapshot>;
}

/** A LinkEvent before it is stamped with its time. */
export type EventBody = LinkEvent extends infer E ? (E extends unknown ? Omit<E, 'at'> : never) : never;
