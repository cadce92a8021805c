import type { NodeAPI } from 'node-red';
import type { LinkEvent, Snapshot } from '../core/index.js';
import { registerActionNode, type ActionNodeDef } from './action-node.js';

interface StatusNodeDef extends ActionNodeDef {
  watch: boolean;
  exposeToken: boolean;
}

/**
 * `account-link-status`: sends the snapshot; with `watch`, also on every change (with the event
 * that caused it as `msg.event`); with `exposeToken`, adds the access token for an `http request` node.
 */
export function register(RED: NodeAPI): void {
  registerActionNode<StatusNodeDef>(
    RED,
    'account-link-status',
    async ({ config, link, msg }) => {
      if (config.exposeToken) {
        const token = await link.accessToken();
        const headers = typeof msg.headers === 'object' && msg.headers ? msg.headers : {};
        Object.assign(msg, { access_token: token, headers: { ...headers, Authorization: `Bearer ${token}` } });
      }
      return 'status' as const;
    },
    (node, config, link) => {
      if (!config.watch) return () => undefined;
      // An event is followed by the snapshot it changed: send them as one message.
      let pendingEvent: LinkEvent | undefined;
      const onEvent = (event: LinkEvent): void => {
        // Two events before a snapshot (refreshed, then error): the first goes out on its own.
        if (pendingEvent) onSnapshot(link.snapshot());
        pendingEvent = event;
        queueMicrotask(() => {
          if (pendingEvent === event) onSnapshot(link.snapshot());
        });
      };
      const onSnapshot = (snapshot: Snapshot): void => {
        const event = pendingEvent;
        pendingEvent = undefined;
        node.send({ _msgid: RED.util.generateId(), payload: snapshot, topic: link.slug, ...(event ? { event } : {}) });
      };
      link.on('event', onEvent);
      link.on('snapshot', onSnapshot);
      return () => {
        link.off('event', onEvent);
        link.off('snapshot', onSnapshot);
      };
    },
  );
}
