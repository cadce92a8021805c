import type { NodeAPI } from 'node-red';
import { PairingCoordinator, type LinkingMethod, type PairingMethodOptions } from '../core/index.js';
import { advertisePairingPage, type PairingAdvert } from '../mdns/pairing-advert.js';
import { mountPairingPage } from '../web/index.js';
import { httpNodeRoot, mdnsAllowed, uiPort } from './runtime-settings.js';

/**
 * The pairing page, once per runtime: the coordinator every Link without a device flow uses, the
 * page's routes on Node-RED's HTTP node server, and its mDNS advert while a pairing link is deployed.
 */
export class PairingService {
  private readonly coordinator: PairingCoordinator;
  private readonly root: string | false;
  private advert: PairingAdvert | undefined;
  /** The config nodes whose links use the page; the advert lasts while there is one. */
  private readonly users = new Set<object>();

  constructor(private readonly RED: NodeAPI) {
    this.root = httpNodeRoot(RED);
    this.coordinator = new PairingCoordinator({
      httpNodeRoot: this.root || '/',
      log: (message) => RED.log.debug(`[account-link] ${message}`),
    });
    if (this.root !== false) {
      mountPairingPage(RED.httpNode, { coordinator: this.coordinator, log: (message) => RED.log.warn(`[account-link] ${message}`) });
    }
  }

  /** The pairing method for one Link, or undefined when Node-RED serves no HTTP nodes (there is no page to open). */
  methodFor(options: PairingMethodOptions): LinkingMethod | undefined {
    return this.root === false ? undefined : this.coordinator.method(options);
  }

  /** `user` is gone: the advert ends with the last link using the page. */
  release(user: object): void {
    this.users.delete(user);
    if (this.users.size > 0 || !this.advert) return;
    const advert = this.advert;
    this.advert = undefined;
    void advert.stop();
  }

  /** Advertises the page while at least one pairing link is deployed. */
  use(user: object): void {
    this.users.add(user);
    if (this.advert || this.root === false || !mdnsAllowed(this.RED)) return;
    try {
      this.advert = advertisePairingPage({
        port: uiPort(this.RED),
        httpNodeRoot: this.root,
      });
    } catch (err) {
      this.RED.log.warn(`[account-link] mDNS advertisement failed: ${(err as Error).message}`);
    }
  }
}
