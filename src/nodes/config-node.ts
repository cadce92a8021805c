import type { Node, NodeAPI } from 'node-red';
import type { Link } from '../core/index.js';

/** What the `account-link` config node offers the action nodes and admin routes. */
export interface AccountLinkConfigNode extends Node {
  /** Settles once the stored link is loaded; rejects with a LinkError when the node is misconfigured. */
  ready: Promise<Link>;
}

/** The deployed `account-link` config node with this id, or null when there is none. */
export function accountLinkNode(RED: NodeAPI, id: string): AccountLinkConfigNode | null {
  const node = RED.nodes.getNode(id) as (Node & Partial<AccountLinkConfigNode>) | null;
  return node?.type === 'account-link' && node.ready ? (node as AccountLinkConfigNode) : null;
}
