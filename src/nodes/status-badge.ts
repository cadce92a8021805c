import type { NodeAPI, NodeStatus } from 'node-red';
import type { ErrorSummary, Snapshot } from '../core/index.js';

/**
 * The error text people see: the catalog's words for the code, else the engine's English message.
 * A `config` message names the field to fix, which the catalog's general words cannot.
 */
export function localizedError(RED: NodeAPI, error: ErrorSummary): string {
  if (error.code === 'config' && error.message) return error.message;
  const key = `account-link.errors.${error.code}`;
  const text = RED._(key);
  return text && text !== key ? text : error.message;
}

/**
 * The badge under an action node: yellow ring with the code while pending (or "waiting for sign-in"), green dot with the
 * account once linked, red ring when a person must act (also an unlinked link whose last attempt
 * failed, with the failure's words), grey dot when unlinked.
 */
export function badgeFor(RED: NodeAPI, snapshot: Snapshot): NodeStatus {
  switch (snapshot.state) {
    case 'pending':
      if (snapshot.waiting_for === 'sign_in') return { fill: 'yellow', shape: 'ring', text: RED._('account-link.status.signIn') };
      return { fill: 'yellow', shape: 'ring', text: RED._('account-link.status.pending', { code: snapshot.user_code ?? '' }) };
    case 'linked':
      return {
        fill: 'green',
        shape: 'dot',
        text: RED._('account-link.status.linked', { account: snapshot.account?.name ?? snapshot.account?.id ?? '' }),
      };
    case 'relink_required':
      return { fill: 'red', shape: 'ring', text: RED._('account-link.status.relink_required') };
    case 'error':
      return {
        fill: 'red',
        shape: 'ring',
        text: snapshot.error ? localizedError(RED, snapshot.error) : RED._('account-link.status.error'),
      };
    default:
      return snapshot.error
        ? { fill: 'red', shape: 'ring', text: localizedError(RED, snapshot.error) }
        : { fill: 'grey', shape: 'dot', text: RED._('account-link.status.unlinked') };
  }
}
