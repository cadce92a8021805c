import type { NodeAPI } from 'node-red';
import { registerActionNode, snapshotMessage } from './action-node.js';

/** `account-link-revoke`: revokes at the provider where it can, always forgets the tokens here. */
export function register(RED: NodeAPI): void {
  registerActionNode(RED, 'account-link-revoke', async ({ link, msg, send }) => {
    const { snapshot, manageUrl } = await link.revoke();
    send(Object.assign(snapshotMessage(msg, snapshot), { manageUrl }));
  });
}
