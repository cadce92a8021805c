import type { Account } from './account.js';
import type { LinkingProgress, LinkingSession } from './device-flow.js';
import type { LinkError, LinkErrorCode } from './errors.js';
import { ENGLISH_SPEECH, spokenCode, type SpeechOptions } from './spoken.js';
import type { ShortLifetime } from './profiles/index.js';
import type { StoredLink } from './store.js';

/** Where a link stands; `pending` means a code is waiting for a person. */
export type LinkState = 'unlinked' | 'pending' | 'linked' | 'relink_required' | 'error';

/** What flows, MQTT and the editor see of a link. Never holds a secret. */
export interface Snapshot {
  /** The link's slug (`[a-z0-9-]+`), used in topics and pages. */
  link: string;
  provider: string;
  state: LinkState;
  account: Account | null;
  /**
   * While `pending`: `code` (a code waits to be entered) or `sign_in` (the code was entered on the
   * pairing page and the sign-in at the provider is under way); null otherwise.
   */
  waiting_for: 'code' | 'sign_in' | null;
  user_code: string | null;
  verification_uri: string | null;
  verification_uri_complete: string | null;
  code_expires_at: string | null;
  token_expires_at: string | null;
  refresh_expires_at: string | null;
  /** When the tokens were last obtained: at linking, or by the latest refresh. */
  last_refresh_at: string | null;
  scopes: string[] | null;
  prompt: string | null;
  /** The code spelled for a speaker, one word per character in the link's language, while `pending`. */
  user_code_spoken: string | null;
  /** The whole prompt for text-to-speech, address and code in words, while `pending`. */
  prompt_spoken: string | null;
  error: ErrorSummary | null;
  updated_at: string;
}

/** The `{code, message}` pair snapshots, events, messages and replies carry. */
export interface ErrorSummary {
  code: LinkErrorCode;
  message: string;
}

/** Something that happened to a link; `at` is an ISO time. Each type carries its own details. */
export type LinkEvent = { at: string } & (
  | { event_type: 'linking_started'; code_expires_at: string | null }
  | { event_type: 'code_expired' }
  | { event_type: 'access_denied' }
  | { event_type: 'linked'; account: Account | null; account_changed: boolean; previous_account: Account | null }
  | { event_type: 'refreshed'; token_expires_at: string | null }
  | { event_type: 'refresh_failed'; error: ErrorSummary; retry_at: string | null }
  | { event_type: 'relink_soon'; refresh_expires_at: string | null; days_left: number }
  | { event_type: 'relink_required'; error: ErrorSummary }
  | { event_type: 'revoked'; provider_revoked: boolean }
  | { event_type: 'error'; error: ErrorSummary }
);

/** The `event_type` of a LinkEvent. */
export type LinkEventType = LinkEvent['event_type'];

/** Every event type, in the order a link's life meets them (Home Assistant's event entity lists them). */
export const LINK_EVENT_TYPES: readonly LinkEventType[] = [
  'linking_started',
  'code_expired',
  'access_denied',
  'linked',
  'refreshed',
  'refresh_failed',
  'relink_soon',
  'relink_required',
  'revoked',
  'error',
];

/**
 * Builds the spoken/displayed prompt; the Node-RED layer passes a localized one. `relink` is true
 * while an account that is (or was) linked is being linked again; `waitingFor` is `sign_in` once the
 * code was entered (then `code` is empty).
 */
export type PromptFormatter = (parts: {
  provider: string;
  url: string;
  code: string;
  relink?: boolean;
  waitingFor?: 'code' | 'sign_in';
}) => string;

/**
 * The prompt in English: "To link Spotify, open 192.168.1.20:1880/link and enter BDWP-HQPK" ("To
 * relink …"), and once the code was entered "Waiting for the sign-in to Spotify on the phone where
 * the code was entered".
 */
export const englishPrompt: PromptFormatter = ({ provider, url, code, relink, waitingFor }) =>
  waitingFor === 'sign_in'
    ? `Waiting for the sign-in to ${provider} on the phone where the code was entered`
    : `To ${relink ? 'relink' : 'link'} ${provider}, open ${url.replace(/^https?:\/\//, '')} and enter ${code}`;

/** What the prompt says of a link that will soon need a person again. */
export interface RelinkPromptParts {
  provider: string;
  /** Whole days left, rounded up (the event's `days_left`). */
  daysLeft: number;
  /** `refresh_expires_at`, epoch ms. */
  endsAt: number;
  /** Why the link lasts so little, when the profile knows (Google's Testing apps). */
  reason: ShortLifetime | null;
}

/** Builds the prompt of a link whose end is near; the Node-RED layer passes a localized one. */
export type RelinkPromptFormatter = (parts: RelinkPromptParts) => string;

/** "The Spotify link ends in 3 days, on 2026-08-28; link it again before then." */
export const englishRelinkPrompt: RelinkPromptFormatter = ({ provider, daysLeft, endsAt, reason }) => {
  const date = new Date(endsAt).toISOString().slice(0, 10);
  const when = daysLeft <= 1 ? `within a day, on ${date}; link it again now.` : `in ${daysLeft} days, on ${date}; link it again before then.`;
  return `The ${provider} link ends ${when}${reason ? ` ${reason.english}` : ''}`;
};

/** Epoch ms as an ISO string; null stays null. */
export function iso(epochMs: number | null | undefined): string | null {
  return epochMs === null || epochMs === undefined ? null : new Date(epochMs).toISOString();
}

/** Everything a snapshot is made from. */
export interface SnapshotParts {
  slug: string;
  provider: string;
  providerName: string;
  state: LinkState;
  /** The code on show, only while `pending`. */
  session: LinkingSession | undefined;
  /** Set once the code was entered (pairing page): the sign-in is awaited, the code is gone. */
  progress?: LinkingProgress | undefined;
  stored: StoredLink | null;
  error: LinkError | null;
  updatedAt: number;
  formatPrompt: PromptFormatter;
  /** The spoken fields' language and sentence; English when not given. */
  speech?: SpeechOptions;
  /** The prompt when no code is shown: when a link that ends soon needs a person again, or null. */
  relinkPrompt: string | null;
}

/** The snapshot of a link: what may be shown of it, and nothing secret. */
export function buildSnapshot(parts: SnapshotParts): Snapshot {
  const { session, stored } = parts;
  const tokens = stored?.tokens;
  const signIn = session ? parts.progress : undefined;
  const code = signIn ? undefined : session;
  // Spoken only while there is a code to say: once entered, the code is gone.
  const spoken = code
    ? spokenCode({ provider: parts.providerName, url: code.verificationUri, code: code.userCode, relink: Boolean(stored) }, parts.speech ?? ENGLISH_SPEECH)
    : null;
  return {
    link: parts.slug,
    provider: parts.provider,
    state: parts.state,
    account: stored?.account ?? null,
    waiting_for: signIn ? 'sign_in' : session ? 'code' : null,
    user_code: code?.userCode ?? null,
    verification_uri: session?.verificationUri ?? null,
    verification_uri_complete: code?.verificationUriComplete ?? null,
    code_expires_at: iso(signIn ? signIn.expiresAt : session?.expiresAt),
    token_expires_at: iso(tokens?.expiresAt),
    refresh_expires_at: iso(tokens?.refreshExpiresAt),
    last_refresh_at: iso(tokens?.obtainedAt),
    scopes: tokens?.scope ? tokens.scope.split(/\s+/).filter(Boolean) : null,
    prompt: session
      ? parts.formatPrompt({
          provider: parts.providerName,
          url: session.verificationUri,
          code: code?.userCode ?? '',
          relink: Boolean(stored),
          waitingFor: signIn ? 'sign_in' : 'code',
        })
      : parts.relinkPrompt,
    user_code_spoken: spoken?.user_code_spoken ?? null,
    prompt_spoken: spoken?.prompt_spoken ?? null,
    error: parts.error?.toJSON() ?? null,
    updated_at: new Date(parts.updatedAt).toISOString(),
  };
}
