import type { NodeAPI } from 'node-red';
import { tokenStore } from './token-store.js';

/**
 * Deletes the token file of an `account-link` node, and any copy of it moved aside as unreadable,
 * once a deploy has removed the node from the flows.
 * Only nodes this process saw deployed are considered, so a flows file that failed to load, or
 * belongs to another project, never costs anyone their links. (Closing a node is no sign: Node-RED
 * closes a merely disabled node with `removed` set too.)
 */
export function forgetRemovedLinks(RED: NodeAPI): void {
  let deployed: Set<string> | undefined;
  const onStarted = (): void => {
    const current = new Set<string>();
    RED.nodes.eachNode((node) => {
      if (node.type === 'account-link') current.add(node.id);
    });
    const previous = deployed;
    deployed = current;
    if (!previous) return;
    const gone = [...previous].filter((id) => !current.has(id));
    if (gone.length === 0) return;
    void tokenStore(RED)
      .then((store) => Promise.all(gone.map((id) => store.forget(id))))
      .then(
        () => RED.log.info(`[account-link] deleted the saved tokens of ${gone.length} removed account node(s)`),
        (err: unknown) => RED.log.warn(`[account-link] could not delete saved tokens: ${(err as Error).message}`),
      );
  };
  // Registering the node types again on the same runtime (a test harness does, per flow it loads)
  // replaces the listener instead of adding one more.
  const earlier = listening.get(RED.events);
  if (earlier) RED.events.off('flows:started', earlier);
  listening.set(RED.events, onStarted);
  RED.events.on('flows:started', onStarted);
}

/** The `flows:started` listener registered on each runtime's event bus. */
const listening = new WeakMap<object, () => void>();
