import { LinkError } from '../core/index.js';

/** What a log line says instead of a broker address that does not parse cleanly: it may hold a password. */
export const INVALID_BROKER_ADDRESS = '<invalid broker address>';

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

/** Accepts `host`, `host:port` and the four URL schemes (mqtt, mqtts, ws, wss). */
export function normalizeBrokerUrl(broker: string): string {
  const raw = (broker ?? '').trim();
  if (!raw) throw new LinkError('config', 'The broker address is missing.');
  const withScheme = withDefaultScheme(raw);
  // Messages never quote the address: they end up in the Node-RED log, and it may hold a password.
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new LinkError('config', 'The broker address is not a valid URL.');
  }
  if (!SCHEMES.includes(url.protocol)) {
    throw new LinkError('config', `The broker address must start with mqtt://, mqtts://, ws:// or wss:// (got ${url.protocol}//).`);
  }
  if (!url.hostname) throw new LinkError('config', 'The broker address has no host.');
  // A raw "/" or "@" in a password ends the host early: the client would dial a piece of the password.
  if (hasAtAfterHost(url)) {
    throw new LinkError(
      'config',
      'The broker address has an "@" after its host. Put the user name and password in their own fields, or percent-encode them.',
    );
  }
  return withScheme;
}

/**
 * The broker address for a log line, as a URL parser reads it, without user name, password, query
 * or fragment. An address that does not parse, has no host, or has an "@" after its host is not
 * shown at all: there a raw "/", "?", "#" or "@" in the password made the parser see something
 * else, and any part of what it saw may be a piece of the password.
 */
export function redactBrokerUrl(broker: string): string {
  let url: URL;
  try {
    url = new URL(withDefaultScheme(String(broker ?? '').trim()));
  } catch {
    return INVALID_BROKER_ADDRESS;
  }
  if (!url.hostname || hasAtAfterHost(url)) return INVALID_BROKER_ADDRESS;
  url.username = '';
  url.password = '';
  url.search = '';
  url.hash = '';
  return url.href;
}

/**
 * `text` from elsewhere (an MQTT client error, say) made fit for a log line: the broker address
 * redacted, and the password, from the address or its own field, raw or percent-decoded, masked.
 */
export function maskCredentials(text: string, broker: string, password?: string): string {
  let masked = broker ? text.split(broker).join(redactBrokerUrl(broker)) : text;
  for (const secret of passwordsOf(broker, password)) masked = masked.split(secret).join('***');
  return masked;
}

function passwordsOf(broker: string, password: string | undefined): string[] {
  const found = [password ?? ''];
  try {
    const raw = new URL(withDefaultScheme(broker)).password;
    found.push(raw, decodeURIComponent(raw));
  } catch {
    // An address that does not parse never reached the client, so no error can quote it.
  }
  return found.filter((secret) => secret !== '');
}

/** Whether an "@" comes after the host: then the user info was not what the parser took it for. */
function hasAtAfterHost(url: URL): boolean {
  return `${url.pathname}${url.search}${url.hash}`.includes('@');
}

/** A bare `host` or `host:port` means plain MQTT. */
function withDefaultScheme(raw: string): string {
  return SCHEME.test(raw) ? raw : `mqtt://${raw}`;
}
