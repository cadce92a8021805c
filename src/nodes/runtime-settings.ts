import type { NodeAPI } from 'node-red';
import { normalizeRoot } from '../core/index.js';

/** What this package reads from Node-RED's settings.js, each with its default in one place. */

/** The port Node-RED serves the editor and HTTP nodes on. */
export function uiPort(RED: NodeAPI): number {
  return Number(RED.settings.uiPort ?? 1880);
}

/** Node-RED's `httpNodeRoot` with both slashes, or false when it serves no HTTP nodes (so no pairing page). */
export function httpNodeRoot(RED: NodeAPI): string | false {
  const root = RED.settings.httpNodeRoot;
  return root === false ? false : normalizeRoot(String(root ?? '/'));
}

/** `accountLink: { mdns: false }` in settings.js keeps the runtime off multicast (tests, locked-down hosts). */
export function mdnsAllowed(RED: NodeAPI): boolean {
  const options = (RED.settings as unknown as { accountLink?: { mdns?: unknown } }).accountLink;
  return options?.mdns !== false;
}

/**
 * `accountLink: { refreshRequests: 'unspaced' }` lets every refresh request reach the provider, with
 * no 10 s spacing and no back-off: for test rigs that answer one request each, never for a hub.
 */
export function refreshRequests(RED: NodeAPI): 'spaced' | 'unspaced' {
  const options = (RED.settings as unknown as { accountLink?: { refreshRequests?: unknown } }).accountLink;
  return options?.refreshRequests === 'unspaced' ? 'unspaced' : 'spaced';
}
