import { promises as dns } from 'node:dns';

/**
 * Where a host name stands, by its text alone: `home` (loopback, a private range, a home-only
 * suffix), `outside` (public, link-local, cloud metadata, anything unclear), or `by-address` (a
 * bare name, or one under `.lan`, which leads wherever the local DNS says: it is home only when
 * every address it resolves to is a home address). The one rule, shared with the relay page
 * (docs/relay/index.html) and tabled in test/web/home-hosts.json; docs/ARCHITECTURE.md
 * ("Home-network hosts") gives it in words.
 */
export type HostStanding = 'home' | 'outside' | 'by-address';

/** Resolves a host name to its addresses (all of them, IPv4 and IPv6). */
export type HostLookup = (hostname: string) => Promise<string[]>;

/** The host's standing by its text. Any spelling a URL allows is read the way a browser reads it. */
export function hostStanding(hostname: string): HostStanding {
  const host = urlHostname(hostname);
  // Cloud metadata services sit inside ranges the rule otherwise trusts (.internal, fc00::/7).
  if (host === undefined || /(^|\.)metadata\.google\.internal$/.test(host) || host === '[fd00:ec2::254]') return 'outside';
  if (host === 'localhost' || host.endsWith('.localhost')) return 'home';
  if (/^[a-z0-9-]+(\.[a-z0-9-]+)*\.(local|home\.arpa|internal)$/.test(host)) return 'home';
  if (/^[a-z0-9-]+(\.lan)?$/.test(host)) return 'by-address';
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    const [a, b] = [Number(v4[1]), Number(v4[2])];
    return a === 127 || a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) ? 'home' : 'outside';
  }
  // The URL parser writes IPv6 compressed and without leading zeros, so a unique local address
  // (fc00::/7) has exactly four digits in its first group: "[fc::1]" is 00fc::1, a public address.
  return host === '[::1]' || /^\[f[cd][0-9a-f]{2}:/.test(host) ? 'home' : 'outside';
}

/** True when the host is on the home network by its text alone (no name is looked up). */
export function isHomeNetworkHost(hostname: string): boolean {
  return hostStanding(hostname) === 'home';
}

/**
 * True when the host is on the home network: by its text, or, for a name that stands `by-address`,
 * because every address it resolves to is a home address. Rejects when the name cannot be resolved.
 */
export async function resolvesToHomeNetwork(hostname: string, lookup: HostLookup = lookupAll): Promise<boolean> {
  const standing = hostStanding(hostname);
  if (standing !== 'by-address') return standing === 'home';
  const addresses = await lookup(urlHostname(hostname)!);
  return addresses.length > 0 && addresses.every(isHomeNetworkHost);
}

/** Every address the system resolver gives for a name (as `getaddrinfo`, hosts file included). */
export async function lookupAll(hostname: string): Promise<string[]> {
  return (await dns.lookup(hostname, { all: true })).map((entry) => entry.address);
}

/** The hostname as the URL parser normalizes it (IPv4 dotted, IPv6 bracketed), or undefined. */
function urlHostname(hostname: string): string | undefined {
  const text = String(hostname);
  const bracketed = text.includes(':') && !text.startsWith('[') ? `[${text}]` : text;
  try {
    const url = new URL(`http://${bracketed}/`);
    const plain = url.port === '' && url.username === '' && url.pathname === '/' && url.search === '' && url.hash === '';
    return plain ? url.hostname : undefined;
  } catch {
    return undefined;
  }
}
