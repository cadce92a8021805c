import type { Bonjour } from 'bonjour-service';
import { onFirstUse } from '../core/index.js';

const bonjourService = onFirstUse(() => require('bonjour-service') as typeof import('bonjour-service'));

/** multicast-dns options (interface, port, bind, socket, ...): tests keep traffic on the loopback interface. */
export type MdnsOptions = Record<string, unknown>;

/**
 * A bonjour-service instance whose failures are reported, not thrown: its default error callback
 * throws, and its multicast socket emits 'error' (EACCES, EADDRINUSE) with nobody listening, either
 * of which would take the whole Node-RED process down.
 */
export function guardedBonjour(options: MdnsOptions, report: (err: Error) => void): Bonjour {
  const asError = (err: unknown): void => report(err instanceof Error ? err : new Error(String(err)));
  const bonjour = new (bonjourService().Bonjour)(options, asError);
  // bonjour-service keeps the multicast-dns emitter private; it is the one that emits the socket's errors.
  const socket = (bonjour as unknown as { server?: { mdns?: { on?: (event: string, listener: (err: unknown) => void) => void } } })
    .server?.mdns;
  socket?.on?.('error', asError);
  return bonjour;
}
