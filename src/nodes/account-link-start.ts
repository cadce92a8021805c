import type { NodeAPI } from 'node-red';
import { actionOptions, LinkError } from '../core/index.js';
import { registerActionNode } from './action-node.js';

/**
 * `account-link-start`: sends the `pending` snapshot at once and the final one when the attempt
 * ends. `msg.payload === "cancel"` cancels the attempt under way; `msg.replace_account = true` lets
 * this attempt link a different account than the one linked.
 */
export function register(RED: NodeAPI): void {
  registerActionNode(RED, 'account-link-start', (msg) => {
    const { payload } = msg;
    if (payload === 'cancel') return 'cancel';
    if (typeof payload === 'string' && payload !== '' && payload !== 'start') {
      throw new LinkError('config', RED._('account-link.errors.unknown-action', { action: payload.slice(0, 40) }));
    }
    return { action: 'start', options: actionOptions(msg as { replace_account?: unknown }) };
  });
}
