import type { Account } from './providers.js';
import type { LinkErrorCode } from './errors.js';

export type LinkState = 'unlinked' | 'pending' | 'linked' | 'relink_required' | 'error';

/** DESIGN §4: what flows, MQTT and the editor see of a link. Never holds a secret. */
export interface Snapshot {
  link: string;
  provider: string;
  state: LinkState;
  account: Account | null;
  user_code: string | null;
  verification_uri: string | null;
  verification_uri_complete: string | null;
  code_expires_at: string | null;
  token_expires_at: string | null;
  refresh_expires_at: string | null;
  scopes: string[] | null;
  prompt: string | null;
  error: { code: LinkErrorCode; message: string } | null;
  updated_at: string;
}

export type LinkEventType =
  | 'linking_started'
  | 'code_expired'
  | 'access_denied'
  | 'linked'
  | 'refreshed'
  | 'refresh_failed'
  | 'relink_soon'
  | 'relink_required'
  | 'revoked'
  | 'error';

/** DESIGN §4 events. Extra fields depend on the type (e.g. `account_changed` on `linked`). */
export interface LinkEvent {
  event_type: LinkEventType;
  at: string;
  [detail: string]: unknown;
}

/** Lines the engine logs. Messages never contain a secret. */
export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/** Builds the spoken/displayed prompt; the Node-RED layer passes a localized one. */
export type PromptFormatter = (parts: { provider: string; url: string; code: string }) => string;

export const englishPrompt: PromptFormatter = ({ provider, url, code }) =>
  `To link ${provider}, open ${url.replace(/^https?:\/\//, '')} and enter ${code}`;

export function iso(epochMs: number | null | undefined): string | null {
  return epochMs === null || epochMs === undefined ? null : new Date(epochMs).toISOString();
}
