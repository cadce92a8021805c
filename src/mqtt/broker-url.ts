import { LinkError } from '../core/index.js';

/** What a log line says instead of a broker address that does not parse: it may hold a password. */
export const INVALID_BROKER_ADDRESS = '<invalid broker address>';

const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;
const SCHEMES = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

/** Accepts `host`, `host:port` and the four URL schemes (mqtt, mqtts, ws, wss). */
export function normalizeBrokerUrl(broker: string): string {
  const raw = (broker ?? '').trim();
  if (!raw) throw new LinkError('config', 'The broker address is missing.');
  const withScheme = withDefaultScheme(raw);
  // Messages name the address without its credentials: they end up in the Node-RED log.
  const shown = redactBrokerUrl(raw);
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new LinkError('config', `The broker address "${shown}" is not a valid URL.`);
  }
  if (!SCHEMES.includes(url.protocol)) {
    throw new LinkError('config', `The broker address must start with mqtt://, mqtts://, ws:// or wss:// (got ${url.protocol}//).`);
  }
  if (!url.hostname) throw new LinkError('config', `The broker address "${shown}" has no host.`);
  // A raw "/" or "@" in a password ends the host early: the client would dial a piece of the password.
  if (`${url.pathname}${url.search}${url.hash}`.includes('@')) {
    throw new LinkError(
      'config',
      'The broker address has an "@" after its host. Put the user name and password in their own fields, or percent-encode them.',
    );
  }
  return withScheme;
}

/**
 * The broker address for a log line: no user name or password, however they are written. The user
 * info runs to the last "@", even where a raw "/" or "@" in the password would make a URL parser
 * see a different host; what is left must parse as a URL or is not shown at all.
 */
export function redactBrokerUrl(broker: string): string {
  const withoutUserInfo = withDefaultScheme(String(broker ?? '').trim()).replace(/^([a-z][a-z0-9+.-]*:\/\/)[^]*@/i, '$1');
  try {
    const url = new URL(withoutUserInfo);
    if (!url.hostname) return INVALID_BROKER_ADDRESS;
    url.username = '';
    url.password = '';
    return url.href;
  } catch {
    return INVALID_BROKER_ADDRESS;
  }
}

/** A bare `host` or `host:port` means plain MQTT. */
function withDefaultScheme(raw: string): string {
  return SCHEME.test(raw) ? raw : `mqtt://${raw}`;
}
