import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import {
  LinkError,
  refusedReply,
  runAction,
  statusReply,
  toLinkError,
  type ActionOptions,
  type ActionReply,
  type Link,
  type LinkAction,
  type Snapshot,
} from '../core/index.js';
import { accountLinkNode } from './config-node.js';
import { badgeFor } from './status-badge.js';

type Send = (msg: NodeMessage) => void;
type Done = (err?: Error) => void;

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
export type ActionRequest<TDef extends ActionNodeDef> = (
  msg: NodeMessageInFlow,
  link: Link,
  config: TDef,
) => LinkAction | ActionCall | Promise<LinkAction>;

/**
 * The message for a reply, in the shape every surface answers with: the snapshot as payload, the
 * link's slug as topic, the failure as `error`, and for `revoke` the provider's manage page (the
 * revoke node documents `manageUrl` as `string | null`, so it is there even when null).
 */
export function replyMessage<T extends NodeMessage>(msg: T, reply: ActionReply, slug: string, action?: LinkAction): T {
  const message: T & { manageUrl?: string | null; error?: ActionReply['error'] } = msg;
  message.payload = reply.data;
  message.topic = slug;
  if (action === 'revoke' || reply.manageUrl) message.manageUrl = reply.manageUrl;
  if (reply.error) message.error = reply.error;
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
    let loaded: Link | undefined;
    let closed = false;

    if (!account) {
      node.status({ fill: 'red', shape: 'ring', text: RED._('account-link.status.no-account') });
    } else {
      account.ready.then(
        (link) => {
          if (closed) return;
          loaded = link;
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

    // Per message, the status node's hot path: no turn of the event loop and no closures once the
    // link is loaded, so it costs about what a core node costs.

    /** Sends the reply to `requested`; resolves with the last reply. A failed reply is only returned. */
    const respond = (link: Link, msg: NodeMessageInFlow, send: Send, requested: LinkAction | ActionCall): Promise<ActionReply> => {
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

    /** Fails `msg` for a Catch node: `msg.error` (with the snapshot when there is a link) and `done(err)`. */
    const fail = (msg: NodeMessageInFlow, done: Done, err: unknown, link?: Link): void => {
      const problem = toLinkError(err, link?.snapshot().provider ?? 'the provider');
      if (link) replyMessage(msg, refusedReply(link.snapshot(), problem), link.slug);
      else msg.error = problem.toJSON();
      done(problem);
    };

    const finish = (done: Done, { error }: ActionReply): void => done(error ? new LinkError(error.code, error.message) : undefined);

    /** Runs what `msg` asks for on `link` and sends the reply. */
    const handle = (link: Link, msg: NodeMessageInFlow, send: Send, done: Done): void => {
      let requested: LinkAction | ActionCall | Promise<LinkAction>;
      try {
        // `request` throws a LinkError to refuse the message (the start node's unknown payload).
        requested = request(msg, link, config);
      } catch (err) {
        fail(msg, done, err, link);
        return;
      }
      if (requested === 'status') {
        // Needs no waiting: answered at once (and a throw fails the message, as in the slower path).
        try {
          send(replyMessage(msg, statusReply(link), link.slug, requested));
        } catch (err) {
          fail(msg, done, err, link);
          return;
        }
        done();
        return;
      }
      const reply = requested instanceof Promise ? requested.then((asked) => respond(link, msg, send, asked)) : respond(link, msg, send, requested);
      reply.then((last) => finish(done, last), (err: unknown) => fail(msg, done, err, link));
    };

    node.on('input', (msg, send, done) => {
      if (!account) fail(msg, done, new LinkError('config', RED._('account-link.errors.no-account')));
      // Once the link is loaded, a message is answered in the turn it arrives in.
      else if (loaded) handle(loaded, msg, send, done);
      else account.ready.then((link) => handle(link, msg, send, done), (err: unknown) => fail(msg, done, err));
    });

    node.on('close', () => {
      closed = true;
      detach?.();
    });
  }
  RED.nodes.registerType(type, ActionNode);
}
