import type { NodeAPI } from 'node-red';
import { LinkError } from '../core/index.js';
import { registerActionNode, snapshotMessage } from './action-node.js';

/**
 * `account-link-start`: sends the `pending` snapshot at once and the final one when the attempt
 * ends. `msg.payload === "cancel"` cancels the attempt under way.
 */
export function register(RED: NodeAPI): void {
  registerActionNode(RED, 'account-link-start', async ({ link, msg, send }) => {
    const { payload } = msg;
    if (payload === 'cancel') {
      send(snapshotMessage(msg, await link.cancel()));
      return;
    }
    if (typeof payload === 'string' && payload !== '' && payload !== 'start') {
      throw new LinkError('config', RED._('account-link.errors.unknown-action', { action: payload.slice(0, 40) }));
    }
    const { pending, finished } = await link.start();
    send(snapshotMessage(RED.util.cloneMessage(msg), pending));
    const final = await finished;
    send(snapshotMessage(msg, final));
    if (final.state !== 'linked' && final.error) throw new LinkError(final.error.code, final.error.message);
  });
}
