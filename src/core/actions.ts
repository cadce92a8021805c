import { LinkError, toLinkError } from './errors.js';
import type { Link } from './link.js';
import type { StartOptions } from './link-types.js';
import type { ErrorSummary, Snapshot } from './snapshot.js';

/** What a flow, the editor or an MQTT client can ask of a link. */
export const LINK_ACTIONS = ['start', 'cancel', 'refresh', 'revoke', 'status'] as const;
/** One of LINK_ACTIONS. */
export type LinkAction = (typeof LINK_ACTIONS)[number];

/** True for the names in LINK_ACTIONS. */
export function isLinkAction(value: unknown): value is LinkAction {
  return typeof value === 'string' && (LINK_ACTIONS as readonly string[]).includes(value);
}

/**
 * The one answer every surface gives for an action (node message, admin route, MQTT reply):
 * the snapshot after it, the failure if any, and where the person manages the app's access.
 */
export interface ActionReply {
  status: 'ok' | 'error';
  /** The snapshot after the action (or as it stands, when the action failed). */
  data: Snapshot;
  error: ErrorSummary | null;
  /** For `revoke`: the provider's page for removing the app's access by hand, when it has one. */
  manageUrl: string | null;
}

/** An action's reply and, for `start`, the snapshot the attempt ends with. */
export interface ActionOutcome {
  reply: ActionReply;
  /** `start` only: settles with the final snapshot (linked, or how the attempt ended). */
  finished?: Promise<Snapshot>;
}

/** What an action is given besides its name: for `start`, whether it may replace the linked account. */
export type ActionOptions = StartOptions;

/**
 * The options a request carries (admin route body, MQTT payload, message fields), read the same
 * way on every surface: `replace_account` is true or false when present. A `bad_request` LinkError
 * for anything else.
 */
export function actionOptions(fields: { replace_account?: unknown }): ActionOptions {
  const replace = fields.replace_account;
  if (replace === undefined || replace === null) return {};
  if (typeof replace !== 'boolean') throw new LinkError('bad_request', 'replace_account must be true or false.');
  return { replaceAccount: replace };
}

/**
 * Runs one action on a link. Never throws: a failure is an `error` reply carrying a LinkError's
 * code and message, so every surface reports it in the same words.
 */
export async function runAction(link: Link, action: LinkAction, options: ActionOptions = {}): Promise<ActionOutcome> {
  try {
    switch (action) {
      case 'start': {
        const { pending, finished } = await link.start(options);
        return { reply: ok(pending), finished };
      }
      case 'cancel':
        return { reply: ok(await link.cancel()) };
      case 'refresh':
        return { reply: ok(await link.refresh()) };
      case 'revoke': {
        const { snapshot, manageUrl } = await link.revoke();
        return { reply: ok(snapshot, manageUrl) };
      }
      case 'status':
        return { reply: statusReply(link) };
    }
  } catch (err) {
    return { reply: refusedReply(link.snapshot(), toLinkError(err, link.snapshot().provider)) };
  }
}

/**
 * The reply to `status`: the snapshot as it stands. It needs no waiting, so a surface on a hot path
 * (the status node) may answer with it in the same turn instead of through runAction.
 */
export function statusReply(link: Link): ActionReply {
  return ok(link.snapshot());
}

/** The reply for an action that failed, or a request that never reached the link (unknown action, malformed request). */
export function refusedReply(snapshot: Snapshot, error: LinkError | ErrorSummary): ActionReply {
  const summary = error instanceof LinkError ? error.toJSON() : error;
  return { status: 'error', data: snapshot, error: summary, manageUrl: null };
}

function ok(data: Snapshot, manageUrl: string | null = null): ActionReply {
  return { status: 'ok', data, error: null, manageUrl };
}
