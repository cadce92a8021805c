import { hostname } from 'node:os';
import { Bonjour } from 'bonjour-service';
import { normalizeRoot } from '../core/index.js';

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
  const report = (err: unknown): void => options.onError?.(err instanceof Error ? err : new Error(String(err)));
  const bonjour: BonjourPublisher = options.bonjour ?? ownBonjour(report);
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

/**
 * A bonjour-service instance whose failures are reported, not thrown: its default error callback
 * throws, and its multicast socket emits 'error' (EACCES, EADDRINUSE) with nobody listening, either
 * of which would take the whole Node-RED process down.
 */
function ownBonjour(report: (err: unknown) => void): BonjourPublisher {
  const bonjour = new Bonjour({}, report);
  const socket = (bonjour as unknown as { server?: { mdns?: { on?: (event: string, listener: (err: unknown) => void) => void } } })
    .server?.mdns;
  socket?.on?.('error', report);
  return bonjour as unknown as BonjourPublisher;
}
