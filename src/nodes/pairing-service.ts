import type { NodeAPI } from 'node-red';
import { PairingCoordinator, profileFor, type LinkingMethod, type PairingMethodOptions, type ProviderSettings } from '../core/index.js';
import { advertisePairingPage, type PairingAdvert } from '../mdns/pairing-advert.js';
import { mountPairingPage } from '../web/index.js';
import { httpNodeRoot, mdnsAllowed, uiPort } from './runtime-settings.js';

/**
 * The pairing page, once per runtime: the coordinator every Link without a device flow uses, the
 * page's routes on Node-RED's HTTP node server, and its mDNS advert while a deployed link uses it.
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

  /**
   * The pairing method for `user`'s Link, or undefined when Node-RED serves no HTTP nodes (there is
   * no page to open). Whether a link needs the page may only be known once its provider answered
   * (an issuer without a device endpoint), so the method's first call is what starts the advert.
   */
  methodFor(user: object, options: PairingMethodOptions): LinkingMethod | undefined {
    if (this.root === false) return undefined;
    const method = this.coordinator.method(options);
    return (context) => {
      this.use(user);
      return method(context);
    };
  }

  /**
   * Advertises at deploy for a link whose settings alone say it uses the page: `flow: pairing`, or
   * `auto` with a profile that picks the page even where a device flow exists (Spotify).
   */
  expect(user: object, settings: Pick<ProviderSettings, 'provider' | 'flow'>): void {
    const flow = settings.flow ?? 'auto';
    const pairs = flow === 'auto' ? profileFor(settings.provider)?.autoFlow({ device: true, authorization: true }) : flow;
    if (pairs === 'pairing') this.use(user);
  }

  /** `user` is gone: the advert ends with the last link using the page. */
  release(user: object): void {
    this.users.delete(user);
    if (this.users.size > 0 || !this.advert) return;
    const advert = this.advert;
    this.advert = undefined;
    void advert.stop();
  }

  private use(user: object): void {
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
