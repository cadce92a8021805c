import path from 'node:path';
import type { NodeAPI } from 'node-red';
import { TokenStore, type Logger } from '../core/index.js';

let storePromise: Promise<TokenStore> | undefined;
let storeDir: string | undefined;

/**
 * The one token store of this Node-RED runtime, under `<userDir>/account-link/`: every config
 * node's tokens are encrypted with the same key, kept beside them.
 */
export function tokenStore(RED: NodeAPI): Promise<TokenStore> {
  const dir = path.join(String(RED.settings.userDir ?? process.cwd()), 'account-link');
  if (!storePromise || storeDir !== dir) {
    storeDir = dir;
    // A failed open (a full disk, a permission fixed later) is tried again at the next deploy.
    storePromise = TokenStore.open(dir, runtimeLogger(RED)).catch((err: unknown) => {
      storePromise = undefined;
      throw err;
    });
  }
  return storePromise;
}

/** The store's lines go to the runtime log: they concern every account, not one node. */
function runtimeLogger(RED: NodeAPI): Logger {
  const tagged = (message: string) => `[account-link] ${message}`;
  return {
    debug: (message) => RED.log.debug(tagged(message)),
    info: (message) => RED.log.info(tagged(message)),
    warn: (message) => RED.log.warn(tagged(message)),
    error: (message) => RED.log.error(tagged(message)),
  };
}
