import type { NodeAPI } from 'node-red';
import { registerActionNode } from './action-node.js';

/** `account-link-revoke`: revokes at the provider where it can, always forgets the tokens here. */
export function register(RED: NodeAPI): void {
  registerActionNode(RED, 'account-link-revoke', () => 'revoke');
}
