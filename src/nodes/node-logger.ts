import type { Node } from 'node-red';
import type { Logger } from '../core/index.js';

/** The engine's and publisher's log lines go to the node's log; none of them carries a secret. */
export function nodeLogger(node: Node): Logger {
  return {
    debug: (message) => node.debug(message),
    info: (message) => node.log(message),
    warn: (message) => node.warn(message),
    error: (message) => node.error(message),
  };
}
