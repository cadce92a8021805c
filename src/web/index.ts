/**
 * The hub pairing page: how Spotify (and any provider without a device flow) is linked.
 *
 * Wiring in Node-RED, once per runtime (not per node):
 *
 * ```ts
 * import { PairingCoordinator, suggestedRedirectUri } from '../core/index.js';
 * import { mountPairingPage, defaultPublicUrl } from '../web/index.js';
 *
 * const root = RED.settings.httpNodeRoot;                       // '/' by default; false = no HTTP nodes
 * const coordinator = new PairingCoordinator({ httpNodeRoot: root || '/', log: (m) => RED.log.debug(m) });
 * if (root !== false) mountPairingPage(RED.httpNode, { coordinator, log: (m) => RED.log.warn(m) });
 * ```
 *
 * and for each `account-link` config node:
 *
 * ```ts
 * const port = RED.settings.uiPort ?? 1880;
 * const publicUrl = config.publicUrl || defaultPublicUrl(port, root) || `http://127.0.0.1:${port}`;
 * const redirectUri = config.redirectUri || suggestedRedirectUri({ provider: config.provider, publicUrl, port, httpNodeRoot: root || '/' });
 * const link = new Link({ ..., pairing: coordinator.method({ publicUrl, redirectUri, source: () => link }) });
 * ```
 *
 * `coordinator.method()` gives the Link its LinkingMethod: each `link.start()` then makes an
 * 8-letter code (`XXXX-XXXX`, 10 minutes, single use) shown at `<publicUrl><root>link`. The
 * `source: () => link` option lets the callback page say "Linked as …" only after the Link stored the
 * tokens. The routes are `GET|POST <root>link` (the code; a right one sets the pairing cookie and
 * shows what is being authorized), `POST <root>link/continue` (on to the provider) and
 * `GET|POST <root>link/callback`; docs/ARCHITECTURE.md says who may use each.
 *
 * Redirect URIs (what to register at the provider): see `REDIRECT_SETUPS`. In short: an https hub
 * registers `https://<hub><root>link/callback`; a plain-http hub registers
 * `http://127.0.0.1:<port><root>link/callback` and the person pastes the address the phone ends on;
 * or the static relay page (docs/relay/index.html) hosted on any https host forwards the answer.
 * mDNS advertisement of the page: src/mdns/pairing-advert.ts.
 */
export { defaultPublicUrl, REDIRECT_SETUPS } from './addresses.js';
export { contentSecurityPolicy, escapeHtml } from './html.js';
export { findLocalesFolder, loadPageCatalogs, matchLanguage, PAGE_LANGUAGES, type PageCatalogs, type PageLanguage } from './i18n.js';
export {
  mountPairingPage,
  type MountedPairingPage,
  type PageHandler,
  type PairingPageOptions,
  type RouterLike,
} from './pairing-page.js';
export { widgetMessages, widgetTexts, type WidgetMessage, type WidgetTexts, type WidgetTextSection } from './widget-view.js';
