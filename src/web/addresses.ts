import { networkInterfaces } from 'node:os';

/**
 * How a phone on the home network reaches this hub: `http://<first non-internal IPv4>:<port>`
 * (no trailing slash, no path). Null when Node-RED serves no HTTP nodes (`httpNodeRoot: false`),
 * because then there is no pairing page to reach.
 */
export function defaultPublicUrl(
  port: number | string,
  httpNodeRoot: string | false = '/',
  interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces(),
): string | null {
  if (httpNodeRoot === false) return null;
  for (const entries of Object.values(interfaces)) {
    for (const entry of entries ?? []) {
      // Node 18.0–18.3 reported the family as a number.
      const ipv4 = entry.family === 'IPv4' || (entry.family as unknown) === 4;
      if (ipv4 && !entry.internal && !entry.address.startsWith('169.254.')) return `http://${entry.address}:${port}`;
    }
  }
  return `http://127.0.0.1:${port}`;
}

/**
 * The three ways to get the provider's answer back to a hub, for help texts and the README.
 * Placeholders: `<port>`, `<root>` (httpNodeRoot, e.g. `/`), `<hub>` (the public URL).
 */
export const REDIRECT_SETUPS = `Three ways to register a redirect URI for the pairing page:

1. The hub has an https address (a reverse proxy, Home Assistant with a certificate, Tailscale/Nabu Casa):
   register https://<your hub><root>link/callback. The phone comes back to the hub by itself.

2. No https (the usual http://192.168.x.y:1880 hub): register http://127.0.0.1:<port><root>link/callback.
   Spotify accepts plain http only on a loopback IP. After approving, the phone opens that address,
   which cannot load on a phone: copy the whole address from the address bar and paste it on
   <hub><root>link in the same browser (section "Ended on a page that would not load?"). Opened on
   the hub's own browser, it just works.

3. No https and no pasting: host docs/relay/index.html on any https host (GitHub Pages works) and
   register its address. The page reads the hub's address from the signed state and forwards the
   answer to it; it forwards only to loopback, private-network, .local, .home.arpa and .internal
   addresses.`;
