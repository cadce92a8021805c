import type { NodeAPI } from 'node-red';
import { registerActionNode, snapshotMessage } from './action-node.js';

/** `account-link-refresh`: refreshes now (joining a refresh under way) and sends the snapshot. */
export function register(RED: NodeAPI): void {
  registerActionNode(RED, 'account-link-refresh', async ({ link, msg, send }) => {
    send(snapshotMessage(msg, await link.refresh()));
  });
}
