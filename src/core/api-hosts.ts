import { LinkError } from './errors.js';
import { hostStanding, resolvesToHomeNetwork, type HostLookup } from './home-network.js';
import { transportError } from './http.js';
import type { Provider } from './providers.js';

/** One `host` or `host:port` entry of a request node's allowed hosts. */
export interface HostEntry {
  hostname: string;
  /** Empty: the scheme's default port only. */
  port: string;
}

/**
 * Where a link's access token may go: the provider's API and its own endpoints, the hosts a person
 * allowed, over https (plain http only to the home network, and only for `oidc`/`custom`).
 */
export interface TokenDestinations {
  /** What a relative URL is resolved against. */
  apiBase: string;
  /** Origins of the provider's API and endpoints. */
  origins: ReadonlySet<string>;
  hosts: readonly HostEntry[];
  /** True for `oidc`/`custom`: plain http may go to home-network hosts. */
  homeHttp: boolean;
  /** The provider's name, for messages. */
  providerName: string;
}

/**
 * Reads a comma-separated list of `host` or `host:port` entries (a leading `https://` and a trailing
 * path are forgiven). Throws a `config` LinkError naming the first entry that is not a host.
 */
export function parseAllowedHosts(text: string | undefined): HostEntry[] {
  const entries: HostEntry[] = [];
  for (const raw of (text ?? '').split(/[,\s]+/)) {
    const entry = raw.trim().toLowerCase().replace(/^[a-z][a-z0-9+.-]*:\/\//, '').replace(/\/.*$/, '');
    if (!entry) continue;
    const match = /^(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9.-]*[a-z0-9])?)(?::(\d{1,5}))?$/.exec(entry);
    const port = match?.[3] ?? '';
    if (!match || (port && (Number(port) < 1 || Number(port) > 65535))) {
      throw new LinkError('config', `"${raw.trim()}" in Allowed hosts is not a host name or host:port (for example api.example.com or 127.0.0.1:8080).`);
    }
    entries.push({ hostname: match[1]!, port });
  }
  return entries;
}

/** The token destinations of a resolved provider plus the hosts a request node allows. */
export function tokenDestinations(provider: Provider, hosts: readonly HostEntry[]): TokenDestinations {
  const server = provider.config.serverMetadata();
  const apiBase = provider.profile.apiBase ?? `${new URL(server.issuer).origin}/`;
  const addresses = [apiBase, server.issuer, provider.profile.account?.url];
  for (const [field, value] of Object.entries(server)) {
    if (field.endsWith('_endpoint') && typeof value === 'string') addresses.push(value);
  }
  const origins = new Set<string>();
  for (const address of addresses) {
    const origin = originOf(address);
    if (origin) origins.add(origin);
  }
  return {
    apiBase,
    origins,
    hosts,
    homeHttp: provider.profile.kind === 'oidc' || provider.profile.kind === 'custom',
    providerName: provider.displayName,
  };
}

/**
 * The absolute URL of a request (relative URLs against the API base). Throws `bad_request` when it
 * is not a web address, `forbidden_host` when the token may not go there by its text: nothing is
 * sent then. A plain-http name that stands by its addresses passes here; `sentOnlyHome` must check
 * it before every hop that carries the token.
 */
export function tokenUrl(url: string, destinations: TokenDestinations): URL {
  let target: URL;
  try {
    target = new URL(url, destinations.apiBase);
  } catch {
    throw new LinkError('bad_request', `"${url}" is not a valid address.`);
  }
  if (target.username || target.password) {
    throw new LinkError('bad_request', 'The address must not contain a user name or password; the linked account signs the request.');
  }
  const problem = refusal(target, destinations);
  if (problem) throw new LinkError('forbidden_host', problem);
  return target;
}

/** Why the token may not go to `target`, in plain words, or null when it may. */
function refusal(target: URL, destinations: TokenDestinations): string | null {
  const { providerName } = destinations;
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    return `The linked account's token is only sent over https, not to ${target.protocol} addresses. Nothing was sent.`;
  }
  if (!isDestination(target, destinations)) {
    const known = [...destinations.origins].map((origin) => new URL(origin).host).join(', ');
    return (
      `The linked account's token is only sent to ${providerName}'s own addresses (${known}) and to the request node's ` +
      `Allowed hosts; ${target.host} is neither, so nothing was sent. If you trust ${target.host}, add it to Allowed hosts.`
    );
  }
  // A name that stands by its addresses passes here; sentOnlyHome() looks it up before each request.
  if (target.protocol === 'http:' && !(destinations.homeHttp && hostStanding(target.hostname) !== 'outside')) {
    return destinations.homeHttp
      ? `The linked account's token is sent over plain http only to the home network, and ${target.host} is not on it. Use https. Nothing was sent.`
      : `The linked account's token for ${providerName} is only sent over https. Use https://${target.host}${target.pathname}. Nothing was sent.`;
  }
  return null;
}

/**
 * For plain http, the second half of the home-network rule (the one the provider's own calls follow):
 * a bare or `.lan` name is home only when every address it resolves to is, looked up before each
 * request. Throws `forbidden_host` when it is not (nothing sent), a `network` error when the name
 * does not resolve.
 */
export async function sentOnlyHome(target: URL, lookup: HostLookup): Promise<void> {
  if (target.protocol !== 'http:') return;
  let home: boolean;
  try {
    home = await resolvesToHomeNetwork(target.hostname, lookup);
  } catch (err) {
    throw transportError(err, target.host);
  }
  if (!home) {
    throw new LinkError(
      'forbidden_host',
      `The linked account's token is sent over plain http only to the home network, and ${target.hostname} resolves to an address outside it. Use https. Nothing was sent.`,
    );
  }
}

function isDestination(target: URL, destinations: TokenDestinations): boolean {
  if (destinations.origins.has(target.origin)) return true;
  const port = target.port || (target.protocol === 'https:' ? '443' : '80');
  return destinations.hosts.some(
    (entry) => entry.hostname === target.hostname && (entry.port === '' ? target.port === '' : entry.port === port),
  );
}

function originOf(address: string | undefined): string | null {
  if (!address) return null;
  try {
    return new URL(address).origin;
  } catch {
    return null;
  }
}
