import type { NodeAPI } from 'node-red';
import { suggestedRedirectUri } from '../core/index.js';
import { defaultPublicUrl } from '../web/index.js';
import { httpNodeRoot, uiPort } from './runtime-settings.js';

/** Where a phone reaches the pairing page, and the redirect URI to register at the provider. */
export interface PairingAddresses {
  publicUrl: string;
  redirectUri: string;
  httpNodeRoot: string;
}

/**
 * The addresses a config node's pairing page uses: its own fields when filled in, else the hub's
 * first LAN address and the redirect URI the provider's profile suggests for it.
 */
export function pairingAddresses(
  RED: NodeAPI,
  config: { provider: string; publicUrl?: string; redirectUri?: string },
): PairingAddresses {
  const port = uiPort(RED);
  const root = httpNodeRoot(RED) || '/';
  const publicUrl = (config.publicUrl || defaultPublicUrl(port, root) || `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  const redirectUri =
    config.redirectUri || suggestedRedirectUri({ provider: config.provider, publicUrl, port, httpNodeRoot: root });
  return { publicUrl, redirectUri, httpNodeRoot: root };
}
