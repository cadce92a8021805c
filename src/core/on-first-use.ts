/**
 * A value made the first time it is asked for, then kept. The package loads its heavier
 * dependencies this way (HTTP client, OAuth, QR codes, MQTT, mDNS): Node-RED requires every node
 * file at start, and a flow may never link, show a code or reach a broker, so start-up should not
 * pay for them.
 *
 * @example const qrcode = onFirstUse(() => require('qrcode') as typeof import('qrcode'));
 */
export function onFirstUse<T>(make: () => T): () => T {
  let made: { value: T } | undefined;
  return () => (made ??= { value: make() }).value;
}

/** openid-client, loaded at the first provider call. */
export const openidClient = onFirstUse(() => require('openid-client') as typeof import('openid-client'));

/** undici, loaded at the first provider call. */
export const undici = onFirstUse(() => require('undici') as typeof import('undici'));

/** qrcode, loaded when the first QR code is drawn (MQTT, the editor, the widget). */
export const qrcode = onFirstUse(() => require('qrcode') as typeof import('qrcode'));
