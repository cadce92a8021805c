import { Readable } from 'node:stream';
import type { IStore } from 'mqtt';

type Packet = Parameters<IStore['put']>[0];

type StoreStream = ReturnType<IStore['createStream']>;
type StoreCallback = Parameters<IStore['del']>[1];

/**
 * MQTT.js's outgoing store (QoS 1 packets awaiting their ack), except that retained publishes are
 * not resent after a reconnect: the connect handler publishes the current state instead, and a
 * resent copy would first roll subscribers back to whatever was in flight when the link dropped.
 * Non-retained packets (events, replies) are resent as QoS 1 promises.
 */
export class FreshStateStore implements IStore {
  private readonly inflight = new Map<number, Packet>();

  put(packet: Packet, cb: (error?: Error) => void): this {
    if (packet.messageId !== undefined) this.inflight.set(packet.messageId, packet);
    cb?.();
    return this;
  }

  createStream(): StoreStream {
    for (const [id, packet] of this.inflight) {
      if (packet.cmd === 'publish' && packet.retain) this.inflight.delete(id);
    }
    return Readable.from([...this.inflight.values()], { objectMode: true }) as unknown as StoreStream;
  }

  del(packet: Pick<Packet, 'messageId'>, cb: StoreCallback): this {
    const stored = packet.messageId === undefined ? undefined : this.inflight.get(packet.messageId);
    if (stored) {
      this.inflight.delete(packet.messageId!);
      cb(undefined, stored);
    } else {
      cb?.(new Error('missing packet'));
    }
    return this;
  }

  get(packet: Pick<Packet, 'messageId'>, cb: StoreCallback): this {
    const stored = packet.messageId === undefined ? undefined : this.inflight.get(packet.messageId);
    if (stored) cb(undefined, stored);
    else cb?.(new Error('missing packet'));
    return this;
  }

  close(cb: (error?: Error) => void): void {
    this.inflight.clear();
    cb?.();
  }

  /** Packets awaiting an ack (benchmarks report it). */
  get size(): number {
    return this.inflight.size;
  }
}
