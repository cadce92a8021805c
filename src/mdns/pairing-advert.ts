import { hostname } from 'node:os';
import { normalizeRoot } from '../core/index.js';
import { guardedBonjour } from './guarded-bonjour.js';

/** The part of bonjour-service the advert uses (tests pass a stand-in). */
export interface BonjourPublisher {
  publish(service: { name: string; type: string; port: number; txt?: Record<string, string> }): { stop?: (callback?: () => void) => void };
  destroy(callback?: () => void): void;
}

export interface PairingAdvertOptions {
  /** Node-RED's HTTP port (`uiPort`). */
  port: number;
  /** Node-RED's `httpNodeRoot` ('/' by default). */
  httpNodeRoot?: string;
  /** Instance name shown by browsers of `_http._tcp`; default "Account link on <host>". */
  name?: string;
  /** Default: a new bonjour-service instance, destroyed by `stop()`. */
  bonjour?: BonjourPublisher;
  /** mDNS socket or probing failures (no multicast, port 5353 refused…). Default: ignored. */
  onError?: (err: Error) => void;
}

export interface PairingAdvert {
  /** What was announced. */
  readonly service: { name: string; type: 'http'; port: number; txt: { path: string } };
  /** Withdraws the announcement (and closes the mDNS socket the advert opened). */
  stop(): Promise<void>;
}

/**
 * Announces the pairing page on the home network as `_http._tcp` with TXT `path=<root>link`, so a
 * phone's service browser (or a display on the LAN) finds it without knowing the hub's address.
 */
export function advertisePairingPage(options: PairingAdvertOptions): PairingAdvert {
  const ownsBonjour = !options.bonjour;
  const bonjour: BonjourPublisher =
    options.bonjour ?? (guardedBonjour({}, (err) => options.onError?.(err)) as unknown as BonjourPublisher);
  const service = {
    name: (options.name ?? `Account link on ${hostname().split('.')[0] || 'hub'}`).slice(0, 63),
    type: 'http' as const,
    port: options.port,
    txt: { path: `${normalizeRoot(options.httpNodeRoot)}link` },
  };
  const published = bonjour.publish(service);
  let stopped: Promise<void> | undefined;
  return {
    service,
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        const finish = (): void => {
          if (ownsBonjour) bonjour.destroy(() => resolve());
          else resolve();
        };
        if (published.stop) published.stop(finish);
        else finish();
      });
      return stopped;
    },
  };
}
