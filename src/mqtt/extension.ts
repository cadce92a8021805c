import type { IClientPublishOptions, IPublishPacket } from 'mqtt';
import type { Link, LinkEvent, Logger, Snapshot } from '../core/index.js';
import type { LinkTopics } from './topics.js';

/** MQTT v5 publish properties (ignored on 3.1.1). */
export type PublishProperties = NonNullable<IClientPublishOptions['properties']>;

/** A message that arrived on a topic an extension subscribed to. */
export type MessageHandler = (topic: string, payload: Buffer, packet: IPublishPacket) => void;

/**
 * What the connection owner lends an extension: enough to publish and to listen, and nothing of
 * the connection itself, so no extension can connect, close or publish availability.
 */
export interface PublisherContext {
  readonly baseTopic: string;
  /** MQTT v5: properties such as content type and message expiry are sent. */
  readonly v5: boolean;
  readonly log: Logger;
  /** Only `now()` is used: how long a shown code still lives. */
  readonly clock: { now(): number };
  /** Whether a publish reaches the broker now; nothing is queued while offline. */
  connected(): boolean;
  /** QoS 1; dropped while offline, since the next connect announces everything again. */
  send(topic: string, payload: string | Buffer, retain: boolean, properties?: PublishProperties): void;
  /** Routes messages on `filter` (wildcards allowed) to `handler`, subscribing on every connect. */
  subscribe(filter: string, handler: MessageHandler): void;
}

/** One link as an extension follows it, with the extension's own per-link state. */
export interface Followed<S> {
  readonly link: Link;
  readonly topics: LinkTopics;
  readonly state: S;
}

interface Entry<S> extends Followed<S> {
  stopListening(): void;
}

const JSON_CONTENT = 'application/json';

/**
 * One part of what the publisher does for each link (state topics, QR, events, requests, Home
 * Assistant), zigbee2mqtt style: it listens on the links it is given and publishes through the
 * context. The owner calls `announce` after every connect and registration, and `clear` when a
 * link is deleted or renamed, so an extension need not know about either.
 */
export abstract class Extension<S = undefined> {
  private readonly followed = new Map<string, Entry<S>>();

  constructor(
    protected readonly ctx: PublisherContext,
    private readonly createState: () => S,
  ) {}

  /** Once, before the first connect: subscriptions go here. */
  start(): void {}

  /** For good: stops following every link. */
  stop(): void {
    for (const entry of [...this.followed.values()]) this.detach(entry.link);
  }

  attach(link: Link, topics: LinkTopics): void {
    const onSnapshot = (snapshot: Snapshot, events: readonly LinkEvent[]): void => this.snapshotChanged(entry, snapshot, events);
    const onEvent = (event: LinkEvent, snapshot: Snapshot): void => this.eventHappened(entry, event, snapshot);
    const entry: Entry<S> = {
      link,
      topics,
      state: this.createState(),
      stopListening: () => {
        link.off('snapshot', onSnapshot);
        link.off('event', onEvent);
      },
    };
    link.on('snapshot', onSnapshot);
    link.on('event', onEvent);
    this.followed.set(link.slug, entry);
  }

  detach(link: Link): void {
    const entry = this.followed.get(link.slug);
    if (entry?.link !== link) return;
    entry.stopListening();
    this.followed.delete(link.slug);
  }

  /** Publishes everything this extension retains for `link`, in full. */
  announce(link: Link): void {
    const entry = this.followed.get(link.slug);
    if (entry?.link === link) this.publishAll(entry);
  }

  /** Empties what this extension retained under `topics`, whose link is gone. */
  clear(_topics: LinkTopics): void {}

  protected publishAll(_entry: Followed<S>): void {}

  protected snapshotChanged(_entry: Followed<S>, _snapshot: Snapshot, _events: readonly LinkEvent[]): void {}

  protected eventHappened(_entry: Followed<S>, _event: LinkEvent, _snapshot: Snapshot): void {}

  /** The link followed under `slug`. */
  protected following(slug: string): Followed<S> | undefined {
    return this.followed.get(slug);
  }

  protected get everyLink(): Iterable<Followed<S>> {
    return this.followed.values();
  }

  protected sendJson(topic: string, value: unknown, retain: boolean): void {
    this.ctx.send(topic, JSON.stringify(value), retain, { contentType: JSON_CONTENT });
  }

  /** Seconds the shown code still lives, for v5 message expiry; undefined when there is no code. */
  protected codeExpiry(snapshot: Snapshot): number | undefined {
    if (!this.ctx.v5 || snapshot.state !== 'pending' || !snapshot.code_expires_at) return undefined;
    const remainingMs = Date.parse(snapshot.code_expires_at) - this.ctx.clock.now();
    return Math.max(1, Math.ceil(remainingMs / 1000));
  }
}
