import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import {
  LinkError,
  refusedReply,
  runAction,
  toLinkError,
  type ActionOptions,
  type ActionReply,
  type Link,
  type LinkAction,
  type Snapshot,
} from '../core/index.js';
import { accountLinkNode } from './config-node.js';
import { badgeFor } from './status-badge.js';

export interface ActionNodeDef extends NodeDef {
  account: string;
}

/** An action with its options (the start node's `msg.replace_account`). */
export interface ActionCall {
  action: LinkAction;
  options: ActionOptions;
}

/**
 * Which action of the table one message asks for, with its options if it has any. It may add to
 * the message first (the status node's token) and throws a LinkError to refuse the message.
 */
export type ActionRequest<TDef extends ActionNodeDef> = (context: {
  config: TDef;
  link: Link;
  msg: NodeMessageInFlow;
}) => LinkAction | ActionCall | Promise<LinkAction>;

/**
 * The message for a reply, in the shape every surface answers with: the snapshot as payload, the
 * link's slug as topic, the failure as `error`, and for `revoke` the provider's manage page (the
 * revoke node documents `manageUrl` as `string | null`, so it is there even when null).
 */
export function replyMessage<T extends NodeMessage>(msg: T, reply: ActionReply, slug: string, action?: LinkAction): T {
  Object.assign(msg, { payload: reply.data, topic: slug });
  if (action === 'revoke' || reply.manageUrl) Object.assign(msg, { manageUrl: reply.manageUrl });
  if (reply.error) Object.assign(msg, { error: reply.error });
  return msg;
}

/**
 * The reply for how a `start` ended: an attempt that ended without a new link failed, even when an
 * old link stays (a declined relink, or one refused as another account, ends `linked` with `error`).
 */
function finalReply(started: ActionReply, final: Snapshot): ActionReply {
  const failure = final.state === 'linked' && !final.error ? null : final.error;
  return { ...started, status: failure ? 'error' : 'ok', data: final, error: failure };
}

/**
 * Registers an action node type: finds its account, mirrors the link's state in the status badge,
 * runs the action each message asks for through the core's action table and sends its reply. A
 * failure goes to a Catch node as `msg.error` + `done(err)`. An action that finishes later (`start`)
 * sends its reply at once and the final snapshot when it ends.
 */
export function registerActionNode<TDef extends ActionNodeDef>(
  RED: NodeAPI,
  type: string,
  request: ActionRequest<TDef>,
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

    /** Runs what `msg` asks for and sends the reply (a failed one is only returned); resolves with the last reply. */
    const answer = (link: Link, msg: NodeMessageInFlow, send: (msg: NodeMessage) => void): Promise<ActionReply> => {
      const respond = (requested: LinkAction | ActionCall): Promise<ActionReply> => {
        // A plain action (the hot path of the status node) allocates nothing of its own.
        const action = typeof requested === 'string' ? requested : requested.action;
        return runAction(link, action, typeof requested === 'string' ? undefined : requested.options).then(({ reply, finished }) => {
          replyMessage(msg, reply, link.slug, action);
          if (reply.status === 'error') return reply;
          if (!finished) {
            send(msg);
            return reply;
          }
          send(RED.util.cloneMessage(msg));
          return finished.then((snapshot) => {
            const final = finalReply(reply, snapshot);
            send(replyMessage(msg, final, link.slug, action));
            return final;
          });
        });
      };
      // Most requests are known at once: no extra turn of the event loop, as the status node sits on hot paths.
      let requested: LinkAction | ActionCall | Promise<LinkAction>;
      try {
        requested = request({ config, link, msg });
      } catch (err) {
        // A refused message (the start node's unknown payload) fails like any other action.
        return Promise.reject(err);
      }
      return requested instanceof Promise ? requested.then(respond) : respond(requested);
    };

    node.on('input', (msg, send, done) => {
      const fail = (err: unknown, link?: Link): void => {
        const problem = toLinkError(err, link?.snapshot().provider ?? 'the provider');
        if (link) replyMessage(msg, refusedReply(link.snapshot(), problem), link.slug);
        else Object.assign(msg, { error: problem.toJSON() });
        done(problem);
      };
      if (!account) {
        fail(new LinkError('config', RED._('account-link.errors.no-account')));
        return;
      }
      account.ready.then(
        (link) =>
          answer(link, msg, send).then(
            ({ error }) => done(error ? new LinkError(error.code, error.message) : undefined),
            (err: unknown) => fail(err, link),
          ),
        (err: unknown) => fail(err),
      );
    });

    node.on('close', () => {
      closed = true;
      detach?.();
    });
  }
  RED.nodes.registerType(type, ActionNode);
}
