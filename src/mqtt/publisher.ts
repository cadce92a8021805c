import { EventEmitter } from 'node:events';
import type { IClientOptions, IClientPublishOptions, IPublishPacket, MqttClient } from 'mqtt';
import { onFirstUse, silentLogger, type Link, type Logger } from '../core/index.js';
import { maskCredentials, normalizeBrokerUrl, redactBrokerUrl } from './broker-url.js';
import { defaultOrigin, ENGLISH_DISCOVERY_NAMES, type DiscoveryNames, type DiscoveryOrigin } from './discovery.js';
import type { Extension, MessageHandler, PublisherContext, PublishProperties } from './extension.js';
import { EventTopic } from './extensions/events.js';
import { HomeAssistantDiscovery, type HomeAssistantSettings } from './extensions/home-assistant.js';
import { LinkList } from './extensions/links.js';
import { QrImage } from './extensions/qr.js';
import { Requests, toMqttCommands, type MqttCommands } from './extensions/requests.js';
import { StateTopics } from './extensions/state.js';
import { FreshStateStore } from './outgoing-store.js';
import { ReconnectSchedule } from './reconnect.js';
import { LinkTopics, normalizeTopicRoot, topicMatches } from './topics.js';

/** TLS settings handed to MQTT.js (what Node-RED's `tls-config` node fills in). */
export interface MqttTlsOptions {
  ca?: string | string[] | Buffer | Buffer[];
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  servername?: string;
  rejectUnauthorized?: boolean;
  ALPNProtocols?: string[];
}

export interface MqttPublisherOptions {
  /** `mqtt://`, `mqtts://`, `ws://` or `wss://` URL; a bare host gets `mqtt://`. */
  broker: string;
  clientId?: string;
  protocolVersion?: 4 | 5;
  /** Default `account-link`. */
  baseTopic?: string;
  /** Home Assistant device discovery; default on. */
  discovery?: boolean;
  /** Default `homeassistant`. */
  discoveryPrefix?: string;
  /** Plain-string topics per snapshot field; default on. */
  fieldTopics?: boolean;
  /** Which `request/<action>` commands are answered: `all` (default), `status` or `none`. */
  commands?: MqttCommands;
  /** Seconds; default 60. */
  keepalive?: number;
  username?: string;
  password?: string;
  tls?: MqttTlsOptions;
  /**
   * Longest wait between reconnect attempts, ms; default 5000. The first attempt after a drop comes
   * after 500 ms, and each further one waits twice as long, up to this.
   */
  reconnectPeriod?: number;
  /** ms; default 30000. */
  connectTimeout?: number;
  /** Only `now()` is used: how long a shown code still lives (v5 message expiry). */
  clock?: { now(): number };
  logger?: Logger;
  /** Entity and device names for Home Assistant (translations). */
  names?: Partial<DiscoveryNames>;
  origin?: DiscoveryOrigin;
}

export type ConnectionState = 'idle' | 'connecting' | 'connected' | 'disconnected' | 'closed';

export interface ConnectionStatus {
  state: ConnectionState;
  /** Why the last attempt failed, when it did (never contains the password). */
  error?: string;
}

/** What a publisher emits. */
export interface MqttPublisherEvents {
  /** Every change of the connection. */
  status: [ConnectionStatus];
}

/** MQTT.js, loaded when the first broker node connects. */
const mqtt = onFirstUse(() => require('mqtt') as typeof import('mqtt'));

const DEFAULT_BASE_TOPIC = 'account-link';
const DEFAULT_DISCOVERY_PREFIX = 'homeassistant';
const CLOSE_TIMEOUT_MS = 2000;
/**
 * MQTT v5: the largest packet the broker may send us. Every message the hub reads (a request, Home
 * Assistant's birth) is tiny; a larger one is dropped by the broker before it is sent, so it is
 * never read into memory.
 */
export const MAX_INCOMING_PACKET_BYTES = 64 * 1024;

/**
 * Publishes links over one MQTT connection. It owns the connection: availability on
 * `<base>/status` and its Last Will, reconnects, the one `send`, routing of incoming messages, and
 * which links are registered (clearing the topics of deleted and renamed ones). What is published
 * for a link is the business of its extensions (state topics, QR, events, requests, Home
 * Assistant), each given a narrow context rather than the publisher. Knows nothing of Node-RED.
 */
export class MqttPublisher extends EventEmitter<MqttPublisherEvents> {
  readonly baseTopic: string;
  readonly discoveryPrefix: string;
  private readonly options: MqttPublisherOptions;
  private readonly url: string;
  /** The URL without any user:password, for logs. */
  private readonly safeUrl: string;
  private readonly v5: boolean;
  private readonly log: Logger;
  /** In announce order: Home Assistant's config before the state its entities read. */
  private readonly extensions: Extension<unknown>[];
  private readonly subscriptions: { filter: string; handler: MessageHandler }[] = [];
  private readonly links = new Map<string, Link>();
  /** Last slug each link id was published under: a renamed link's old topics get cleared. */
  private readonly slugById = new Map<string, string>();
  /** Slugs removed while offline: their retained topics are cleared on the next connect. */
  private readonly pendingClears = new Set<string>();
  private client: MqttClient | null = null;
  private closed = false;
  private readonly reconnects: ReconnectSchedule;
  private reconnectTimer: NodeJS.Timeout | null = null;
  /** One warning per outage, not one per attempt: the rest go to debug. */
  private outageLogged = false;
  private current: ConnectionStatus = { state: 'idle' };

  constructor(options: MqttPublisherOptions) {
    super();
    this.options = options;
    this.url = normalizeBrokerUrl(options.broker);
    this.safeUrl = redactBrokerUrl(this.url);
    this.v5 = (options.protocolVersion ?? 5) === 5;
    this.baseTopic = normalizeTopicRoot(options.baseTopic, DEFAULT_BASE_TOPIC, 'base topic');
    this.discoveryPrefix = normalizeTopicRoot(options.discoveryPrefix, DEFAULT_DISCOVERY_PREFIX, 'discovery prefix');
    this.log = options.logger ?? silentLogger;
    this.reconnects = new ReconnectSchedule(options.reconnectPeriod ?? 5000);

    const context: PublisherContext = {
      baseTopic: this.baseTopic,
      v5: this.v5,
      log: this.log,
      clock: options.clock ?? Date,
      connected: () => this.connected,
      send: (topic, payload, retain, properties) => this.send(topic, payload, retain, properties),
      subscribe: (filter, handler) => this.subscriptions.push({ filter, handler }),
    };
    const commands = toMqttCommands(options.commands);
    const ha: HomeAssistantSettings | undefined =
      options.discovery === false
        ? undefined
        : {
            prefix: this.discoveryPrefix,
            names: { ...ENGLISH_DISCOVERY_NAMES, ...options.names },
            origin: options.origin ?? defaultOrigin(),
            buttons: commands === 'all',
          };
    // With no commands, nothing is subscribed: the hub never even reads a request.
    const requests = commands === 'none' ? [] : [new Requests(context, commands)];
    this.extensions = [
      ...(ha ? [new HomeAssistantDiscovery(context, ha)] : []),
      new StateTopics(context, options.fieldTopics !== false),
      new QrImage(context),
      new EventTopic(context),
      ...requests,
      new LinkList(context, ha),
    ];
    for (const extension of this.extensions) extension.start();
  }

  get status(): ConnectionStatus {
    return this.current;
  }

  get connected(): boolean {
    return Boolean(this.client?.connected);
  }

  get statusTopic(): string {
    return `${this.baseTopic}/status`;
  }

  /** Slugs currently registered. */
  get slugs(): string[] {
    return [...this.links.keys()];
  }

  /** Opens the connection (once). `register` calls it for the first link. */
  connect(): void {
    if (this.client || this.closed) return;
    const options: IClientOptions = {
      clientId: this.options.clientId || `account-link-${Math.random().toString(16).slice(2, 10)}`,
      protocolVersion: this.v5 ? 5 : 4,
      ...(this.v5 ? { properties: { maximumPacketSize: MAX_INCOMING_PACKET_BYTES } } : {}),
      clean: true,
      keepalive: this.options.keepalive ?? 60,
      // MQTT.js retries at one fixed period; the publisher schedules its own (see scheduleReconnect).
      reconnectPeriod: 0,
      connectTimeout: this.options.connectTimeout ?? 30_000,
      // No stale offline queue: state is republished in full on every connect instead.
      queueQoSZero: false,
      resubscribe: false,
      outgoingStore: new FreshStateStore(),
      will: { topic: this.statusTopic, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(this.options.username ? { username: this.options.username } : {}),
      ...(this.options.password ? { password: this.options.password } : {}),
      ...this.options.tls,
    };
    this.setStatus({ state: 'connecting' });
    let client: MqttClient;
    try {
      client = mqtt().connect(this.url, options);
    } catch (err) {
      this.setStatus({ state: 'disconnected', error: this.describe(err) });
      return;
    }
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('close', () => {
      if (this.client !== client) return;
      this.setStatus({ state: 'disconnected', error: this.current.error });
      this.scheduleReconnect(client);
    });
    client.on('error', (err) => {
      const error = this.describe(err);
      if (this.outageLogged) this.log.debug(`[mqtt] ${this.safeUrl}: ${error}`);
      else this.log.warn(`[mqtt] ${this.safeUrl}: ${error}`);
      this.outageLogged = true;
      this.current = { ...this.current, error };
    });
    client.on('message', (topic, payload, packet) => this.route(topic, payload, packet));
  }

  /**
   * Publishes `link` from now on (connecting first if needed): discovery, state, fields, QR, and
   * its events; answers its requests.
   */
  register(link: Link): void {
    if (this.closed) return;
    const existing = this.links.get(link.slug);
    if (existing === link) return;
    if (existing) {
      this.log.warn(`[mqtt] two links use the name "${link.slug}"; the newer one is published`);
      this.detach(existing);
    }
    const previousSlug = this.slugById.get(link.id);
    if (previousSlug && previousSlug !== link.slug && !this.links.has(previousSlug)) this.clearLink(previousSlug);
    this.slugById.set(link.id, link.slug);
    this.pendingClears.delete(link.slug);

    this.links.set(link.slug, link);
    const topics = new LinkTopics(this.baseTopic, link.slug);
    for (const extension of this.extensions) extension.attach(link, topics);
    if (!this.client) this.connect();
    else if (this.connected) this.announce(link);
  }

  /**
   * Stops publishing `link`. With `removed` (its node was deleted), its retained topics and its
   * Home Assistant device are cleared.
   */
  deregister(link: Link, options: { removed?: boolean } = {}): void {
    if (this.links.get(link.slug) !== link) return;
    this.detach(link);
    if (options.removed) {
      this.slugById.delete(link.id);
      this.clearLink(link.slug);
    }
  }

  /** Publishes `offline`, disconnects cleanly and stops for good. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    for (const extension of this.extensions) extension.stop();
    this.links.clear();
    const client = this.client;
    this.client = null;
    if (client) {
      if (client.connected) {
        await withTimeout(client.publishAsync(this.statusTopic, 'offline', { qos: 1, retain: true }), CLOSE_TIMEOUT_MS).catch(
          () => undefined,
        );
      }
      await withTimeout(client.endAsync(), CLOSE_TIMEOUT_MS).catch(() => client.end(true));
    }
    this.setStatus({ state: 'closed' });
  }

  /** One attempt at a time, after the schedule's wait; a broker that stays down sees no storm. */
  private scheduleReconnect(client: MqttClient): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (this.closed || this.client !== client) return;
      this.setStatus({ state: 'connecting', error: this.current.error });
      client.reconnect();
    }, this.reconnects.next());
  }

  private onConnect(client: MqttClient): void {
    if (this.client !== client) return;
    this.reconnects.reset();
    this.outageLogged = false;
    this.setStatus({ state: 'connected' });
    // Debug only: the status event carries it, and the node logs it once, in its own language.
    this.log.debug(`[mqtt] connected to ${this.safeUrl}`);
    this.send(this.statusTopic, 'online', true);
    // A clean session forgets subscriptions: they are made again on every connect.
    const filters = Object.fromEntries(this.subscriptions.map(({ filter }) => [filter, { qos: 1 as const }]));
    client.subscribe(filters, (err) => {
      // A subscription cut short by a drop is made again on the next connect.
      if (err && client.connected) this.log.warn(`[mqtt] could not subscribe to ${Object.keys(filters).join(', ')}: ${this.describe(err)}`);
    });
    for (const slug of this.pendingClears) this.clearLink(slug);
    for (const link of this.links.values()) this.announce(link);
  }

  /** Everything about one link, sent in full (after a connect or a register). */
  private announce(link: Link): void {
    for (const extension of this.extensions) extension.announce(link);
  }

  private detach(link: Link): void {
    for (const extension of this.extensions) extension.detach(link);
    this.links.delete(link.slug);
  }

  /** Empties every retained topic of `slug`, or remembers to once connected. */
  private clearLink(slug: string): void {
    if (!this.connected) {
      this.pendingClears.add(slug);
      return;
    }
    this.pendingClears.delete(slug);
    const topics = new LinkTopics(this.baseTopic, slug);
    for (const extension of this.extensions) extension.clear(topics);
  }

  private route(topic: string, payload: Buffer, packet: IPublishPacket): void {
    for (const { filter, handler } of this.subscriptions) {
      if (topicMatches(filter, topic)) handler(topic, payload, packet);
    }
  }

  private send(topic: string, payload: string | Buffer, retain: boolean, properties?: PublishProperties): void {
    const client = this.client;
    // Nothing is queued while offline: the next connect publishes the state of that moment.
    if (!client?.connected) return;
    const options: IClientPublishOptions = { qos: 1, retain };
    if (this.v5 && properties) options.properties = properties;
    client.publish(topic, payload, options, (err) => {
      if (err) this.log.debug(`[mqtt] publish to ${topic} failed: ${this.describe(err)}`);
    });
  }

  /** An error from MQTT.js or the socket, in words fit for a log line and the status. */
  private describe(err: unknown): string {
    return maskCredentials(String((err as Error)?.message ?? err), this.url, this.options.password);
  }

  private setStatus(status: ConnectionStatus): void {
    this.current = status;
    this.emit('status', status);
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    timer.unref();
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
