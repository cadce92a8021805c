import type { NodeAPI, NodeMessage, NodeMessageInFlow } from 'node-red';
import type { LinkEvent, Snapshot } from '../core/index.js';
import { registerActionNode, type ActionNodeDef } from './action-node.js';

interface StatusNodeDef extends ActionNodeDef {
  watch: boolean;
  exposeToken: boolean;
}

/** Adds the access token to `msg`, as `access_token` and as the Authorization header of `msg.headers` (copied, not changed). */
function withToken(msg: NodeMessageInFlow & { access_token?: string }, token: string): 'status' {
  const authorization = `Bearer ${token}`;
  msg.headers = typeof msg.headers === 'object' && msg.headers ? { ...msg.headers, Authorization: authorization } : { Authorization: authorization };
  msg.access_token = token;
  return 'status';
}

/**
 * `account-link-status`: sends the snapshot; with `watch`, also on every change (with the event
 * that caused it as `msg.event`); with `exposeToken`, adds the access token for an `http request` node.
 */
export function register(RED: NodeAPI): void {
  registerActionNode<StatusNodeDef>(
    RED,
    'account-link-status',
    (msg, link, config) => {
      if (!config.exposeToken) return 'status';
      // A token that needs no refresh is added in the same turn; otherwise after the refresh.
      const fresh = link.freshAccessToken();
      return fresh ? withToken(msg, fresh) : link.accessToken().then((token) => withToken(msg, token));
    },
    (node, config, link) => {
      if (!config.watch) return () => undefined;
      // A change's events come with the snapshot after it, so each event is sent with that snapshot.
      const onSnapshot = (snapshot: Snapshot, events: readonly LinkEvent[]): void => {
        const message = (event?: LinkEvent): NodeMessage =>
          Object.assign({ _msgid: RED.util.generateId(), payload: snapshot, topic: link.slug }, event ? { event } : {});
        if (events.length === 0) node.send(message());
        for (const event of events) node.send(message(event));
      };
      link.on('snapshot', onSnapshot);
      return () => link.off('snapshot', onSnapshot);
    },
  );
}
