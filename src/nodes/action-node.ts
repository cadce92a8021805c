import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { LinkError, toLinkError, type Link, type Snapshot } from '../core/index.js';
import { accountLinkNode } from './config-node.js';
import { badgeFor } from './status-badge.js';

export interface ActionNodeDef extends NodeDef {
  account: string;
}

/** What an action does with one message; it sends through `send` and may throw a LinkError. */
export type Action<TDef extends ActionNodeDef> = (context: {
  node: Node;
  config: TDef;
  link: Link;
  msg: NodeMessageInFlow;
  send: (msg: NodeMessage) => void;
}) => Promise<void>;

/** The message every action sends: the snapshot as payload, the link slug as topic. */
export function snapshotMessage(msg: NodeMessageInFlow | NodeMessage, snapshot: Snapshot): NodeMessage {
  return Object.assign(msg, { payload: snapshot, topic: snapshot.link });
}

/**
 * Registers an action node type: finds its account, mirrors the link's state in the
 * status badge, runs `action` per message and turns failures into `msg.error` + `done(err)`.
 */
export function registerActionNode<TDef extends ActionNodeDef>(
  RED: NodeAPI,
  type: string,
  action: Action<TDef>,
  onReady?: (node: Node, config: TDef, link: Link) => () => void,
): void {
  function ActionNode(this: Node, config: TDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const account = accountLinkNode(RED, config.account);
    let detach: (() => void) | undefined;
    let closed = false;

    if (!account) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('account-link.status.no-account') });
    } else {
      account.ready.then(
        (link) => {
          if (closed) return;
          const show = (snapshot: Snapshot): void => node.status(badgeFor(RED, snapshot));
          show(link.snapshot());
          link.on('snapshot', show);
          const detachExtra = onReady?.(node, config, link);
          detach = () => {
            link.off('snapshot', show);
            detachExtra?.();
          };
        },
        (err: unknown) => node.status({ fill: 'red', shape: 'ring', text: toLinkError(err, 'the provider').message }),
      );
    }

    node.on('input', (msg, send, done) => {
      const fail = (err: unknown): void => {
        const problem = toLinkError(err, 'the provider');
        Object.assign(msg, { error: problem.toJSON() });
        done(problem);
      };
      if (!account) {
        fail(new LinkError('config', RED._('account-link.errors.no-account')));
        return;
      }
      account.ready
        .then((link) => action({ node, config, link, msg, send }))
        .then(() => done(), fail);
    });

    node.on('close', () => {
      closed = true;
      detach?.();
    });
  }
  RED.nodes.registerType(type, ActionNode);
}
