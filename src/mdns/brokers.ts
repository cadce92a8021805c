import type { Bonjour, Service } from 'bonjour-service';
import { guardedBonjour, type MdnsOptions } from './guarded-bonjour.js';

/** An MQTT broker that answered an mDNS browse. */
export interface DiscoveredBroker {
  /** The instance name the broker advertises, e.g. "Mosquitto MQTT server on pi". */
  name: string;
  /** Advertised host name, e.g. `pi.local`. */
  host: string;
  port: number;
  addresses: string[];
  /** `mqtt://` or `mqtts://` (for `_secure-mqtt._tcp`), preferring an IPv4 address over a `.local` name. */
  url: string;
  secure: boolean;
  txt: Record<string, string>;
}

export interface DiscoverOptions {
  /** How long to listen for answers; default 2000 ms. */
  timeoutMs?: number;
  mdns?: MdnsOptions;
}

const SERVICE_TYPES: { type: string; secure: boolean }[] = [
  { type: 'mqtt', secure: false },
  { type: 'secure-mqtt', secure: true },
];

/**
 * Browses `_mqtt._tcp` (and `_secure-mqtt._tcp`) for a fixed time and resolves with the brokers
 * seen, deduplicated by URL. The multicast socket is closed before the promise settles.
 */
export function discoverBrokers(options: DiscoverOptions = {}): Promise<DiscoveredBroker[]> {
  const timeoutMs = options.timeoutMs ?? 2000;
  return new Promise((resolve, reject) => {
    let failure: Error | undefined;
    let bonjour: Bonjour;
    try {
      bonjour = guardedBonjour(options.mdns ?? {}, (err) => {
        failure ??= err;
      });
    } catch (err) {
      reject(err);
      return;
    }
    const found = new Map<string, DiscoveredBroker>();
    const browsers = SERVICE_TYPES.map(({ type, secure }) =>
      bonjour.find({ type, protocol: 'tcp' }, (service) => {
        const broker = toBroker(service, secure);
        if (broker && !found.has(broker.url)) found.set(broker.url, broker);
      }),
    );
    const timer = setTimeout(() => {
      for (const browser of browsers) browser.stop();
      bonjour.destroy(() => {
        if (failure && found.size === 0) reject(failure);
        else resolve([...found.values()].sort((a, b) => a.name.localeCompare(b.name)));
      });
    }, timeoutMs);
    timer.unref?.();
  });
}

function toBroker(service: Service, secure: boolean): DiscoveredBroker | null {
  if (!service.port || service.port < 1 || service.port > 65535) return null;
  const addresses = (service.addresses ?? []).filter((address) => typeof address === 'string');
  const ipv4 = addresses.find((address) => /^\d{1,3}(\.\d{1,3}){3}$/.test(address));
  const referer = service.referer?.address;
  const host = ipv4 ?? (referer && addresses.includes(referer) ? referer : undefined) ?? service.host ?? referer;
  if (!host) return null;
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return {
    name: String(service.name ?? host),
    host: String(service.host ?? host),
    port: service.port,
    addresses,
    url: `${secure ? 'mqtts' : 'mqtt'}://${hostPart}:${service.port}`,
    secure,
    txt: stringRecord(service.txt),
  };
}

function stringRecord(value: unknown): Record<string, string> {
  if (!value || typeof value !== 'object') return {};
  const out: Record<string, string> = {};
  for (const [key, entry] of Object.entries(value as Record<string, unknown>)) {
    out[key] = Buffer.isBuffer(entry) ? entry.toString('utf8') : String(entry);
  }
  return out;
}
