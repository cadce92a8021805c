import type { Clock } from './clock.js';
import type { LinkingMethod, LinkingSession } from './device-flow.js';
import type { HttpOptions } from './http.js';
import type { Logger } from './logger.js';
import type { ProviderSettings } from './providers.js';
import type { LinkEvent, PromptFormatter, Snapshot } from './snapshot.js';
import type { SpeechOptions } from './spoken.js';
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
  /** How `user_code_spoken` and `prompt_spoken` are worded; English when not given. */
  speech?: SpeechOptions;
  /** What people call this link (the config node's name); the slug when empty. */
  name?: string;
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
