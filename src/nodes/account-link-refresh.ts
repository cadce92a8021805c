import type { NodeAPI } from 'node-red';
import { registerActionNode } from './action-node.js';

/** `account-link-refresh`: refreshes now (joining a refresh under way) and sends the snapshot. */
export function register(RED: NodeAPI): void {
  registerActionNode(RED, 'account-link-refresh', () => 'refresh');
}
