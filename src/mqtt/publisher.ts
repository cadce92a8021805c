import { EventEmitter } from 'node:events';
import { connect, type IClientOptions, type IClientPublishOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import QRCode from 'qrcode';
import { silentLogger, toLinkError, type Link, type Logger, type Snapshot } from '../core/index.js';
import {
  discoveryPayload,
  discoveryTopic,
  ENGLISH_DISCOVERY_NAMES,
  type DiscoveryNames,
  type DiscoveryOrigin,
} from './discovery.js';
import { normalizeBrokerUrl, redactBrokerUrl } from './broker-url.js';
import { FreshStateStore } from './outgoing-store.js';
import { CODE_BOUND_FIELDS, FIELD_TOPICS, isAction, LinkTopics, normalizeTopicRoot, type FieldTopic } from './topics.js';

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
  /** Seconds; default 60. */
  keepalive?: number;
  username?: string;
  password?: string;
  tls?: MqttTlsOptions;
  /** Wait between reconnect attempts, ms; default 5000. */
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

/** A reply on `B/L/response/<action>` (DESIGN §5). */
export interface RequestReply {
  status: 'ok' | 'error';
  data: Snapshot;
  error: { code: string; message: string } | null;
  transaction: unknown;
}

interface Registered {
  link: Link;
  topics: LinkTopics;
  onSnapshot: (snapshot: Snapshot) => void;
  onEvent: (event: unknown) => void;
  /** Field values last published in this connection, so unchanged ones are not sent again. */
  fields: Map<FieldTopic, string>;
  /** URL whose QR code was last published ('' = cleared), and the PNG made for it. */
  qrUrl: string | undefined;
  qrPng: { url: string; png: Buffer } | undefined;
}

const DEFAULT_BASE_TOPIC = 'account-link';
const DEFAULT_DISCOVERY_PREFIX = 'homeassistant';
/** A request larger than this is refused: `{"transaction": ...}` never needs more. */
const MAX_REQUEST_BYTES = 4096;
const CLOSE_TIMEOUT_MS = 2000;
const JSON_CONTENT = 'application/json';

/**
 * Publishes links over one MQTT connection (DESIGN §5): availability, retained state and field
 * topics, QR codes, events, Home Assistant discovery, and request/response commands. Knows nothing
 * of Node-RED. Emits `status` on every connection change.
 */
export class MqttPublisher extends EventEmitter<{ status: [ConnectionStatus] }> {
  readonly baseTopic: string;
  readonly discoveryPrefix: string;
  private readonly options: MqttPublisherOptions;
  private readonly url: string;
  /** The URL without any user:password, for logs. */
  private readonly safeUrl: string;
  private readonly v5: boolean;
  private readonly log: Logger;
  private readonly names: DiscoveryNames;
  private readonly origin: DiscoveryOrigin;
  private readonly links = new Map<string, Registered>();
  /** Last slug each link id was published under: a renamed link's old topics get cleared. */
  private readonly slugById = new Map<string, string>();
  /** Slugs removed while offline: their retained topics are cleared on the next connect. */
  private readonly pendingClears = new Set<string>();
  private client: MqttClient | null = null;
  private closed = false;
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
    this.names = { ...ENGLISH_DISCOVERY_NAMES, ...options.names };
    this.origin = options.origin ?? defaultOrigin();
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
      clean: true,
      keepalive: this.options.keepalive ?? 60,
      reconnectPeriod: this.options.reconnectPeriod ?? 5000,
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
      client = connect(this.url, options);
    } catch (err) {
      this.setStatus({ state: 'disconnected', error: (err as Error).message });
      return;
    }
    this.client = client;
    client.on('connect', () => this.onConnect(client));
    client.on('reconnect', () => this.setStatus({ state: 'connecting', error: this.current.error }));
    client.on('close', () => {
      if (this.client === client) this.setStatus({ state: 'disconnected', error: this.current.error });
    });
    client.on('error', (err) => {
      this.log.warn(`[mqtt] ${this.safeUrl}: ${err.message}`);
      this.current = { ...this.current, error: err.message };
    });
    client.on('message', (topic, payload, packet) => this.onMessage(topic, payload, packet));
  }

  /**
   * Publishes `link` from now on (connecting first if needed): discovery, state, fields, QR, and
   * its events; answers its requests.
   */
  register(link: Link): void {
    if (this.closed) return;
    const existing = this.links.get(link.slug);
    if (existing?.link === link) return;
    if (existing) {
      this.log.warn(`[mqtt] two links use the name "${link.slug}"; the newer one is published`);
      this.detach(existing);
    }
    const previousSlug = this.slugById.get(link.id);
    if (previousSlug && previousSlug !== link.slug && !this.links.has(previousSlug)) this.clearLink(previousSlug);
    this.slugById.set(link.id, link.slug);
    this.pendingClears.delete(link.slug);

    const registered: Registered = {
      link,
      topics: new LinkTopics(this.baseTopic, link.slug),
      onSnapshot: (snapshot) => this.publishLink(registered, snapshot, false),
      onEvent: (event) => this.send(registered.topics.event, JSON.stringify(event), false, { contentType: JSON_CONTENT }),
      fields: new Map(),
      qrUrl: undefined,
      qrPng: undefined,
    };
    link.on('snapshot', registered.onSnapshot);
    link.on('event', registered.onEvent);
    this.links.set(link.slug, registered);
    if (!this.client) this.connect();
    else if (this.connected) this.announce(registered);
  }

  /**
   * Stops publishing `link`. With `removed` (its node was deleted), its retained topics and its
   * Home Assistant device are cleared.
   */
  deregister(link: Link, options: { removed?: boolean } = {}): void {
    const registered = this.links.get(link.slug);
    if (!registered || registered.link !== link) return;
    this.detach(registered);
    this.links.delete(link.slug);
    if (options.removed) {
      this.slugById.delete(link.id);
      this.clearLink(link.slug);
    }
  }

  /** Publishes `offline`, disconnects cleanly and stops for good. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const registered of this.links.values()) this.detach(registered);
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

  private onConnect(client: MqttClient): void {
    if (this.client !== client) return;
    this.setStatus({ state: 'connected' });
    this.log.info(`[mqtt] connected to ${this.safeUrl}`);
    this.send(this.statusTopic, 'online', true);
    const subscriptions: Record<string, { qos: 1 }> = { [`${this.baseTopic}/+/request/+`]: { qos: 1 } };
    if (this.options.discovery !== false) subscriptions[`${this.discoveryPrefix}/status`] = { qos: 1 };
    client.subscribe(subscriptions, (err) => {
      if (err) this.log.warn(`[mqtt] could not subscribe to requests: ${err.message}`);
    });
    for (const slug of this.pendingClears) this.clearLink(slug);
    for (const registered of this.links.values()) this.announce(registered);
  }

  /** Everything about one link, sent in full (after a connect, a register or HA's birth). */
  private announce(registered: Registered): void {
    if (this.options.discovery !== false) {
      const payload = discoveryPayload({
        prefix: this.discoveryPrefix,
        baseTopic: this.baseTopic,
        slug: registered.link.slug,
        provider: registered.link.snapshot().provider,
        names: this.names,
        origin: this.origin,
      });
      this.send(discoveryTopic(this.discoveryPrefix, registered.link.slug), JSON.stringify(payload), true, {
        contentType: JSON_CONTENT,
      });
    }
    this.publishLink(registered, registered.link.snapshot(), true);
  }

  private publishLink(registered: Registered, snapshot: Snapshot, full: boolean): void {
    if (!this.connected) return;
    const { topics } = registered;
    this.send(topics.state, JSON.stringify(snapshot), true, { contentType: JSON_CONTENT });
    const expiry = this.codeExpiry(snapshot);
    if (this.options.fieldTopics !== false) {
      if (full) registered.fields.clear();
      for (const name of FIELD_TOPICS) {
        const value = fieldValue(snapshot, name);
        if (registered.fields.get(name) === value) continue;
        registered.fields.set(name, value);
        const expires = value !== '' && CODE_BOUND_FIELDS.has(name) && expiry !== undefined;
        this.send(topics.field(name), value, true, expires ? { messageExpiryInterval: expiry } : undefined);
      }
    }
    this.publishQr(registered, snapshot, full);
  }

  private publishQr(registered: Registered, snapshot: Snapshot, full: boolean): void {
    const url = qrUrl(snapshot);
    if (!full && registered.qrUrl === url) return;
    registered.qrUrl = url;
    if (url === '') {
      this.send(registered.topics.qr, '', true);
      return;
    }
    const sendPng = (png: Buffer): void => {
      const expiry = this.codeExpiry(registered.link.snapshot());
      this.send(registered.topics.qr, png, true, {
        contentType: 'image/png',
        ...(expiry !== undefined ? { messageExpiryInterval: expiry } : {}),
      });
    };
    if (registered.qrPng?.url === url) {
      sendPng(registered.qrPng.png);
      return;
    }
    // Drawing takes milliseconds of CPU: not inside the snapshot listener, so the state goes first.
    setImmediate(() => {
      QRCode.toBuffer(url, { type: 'png', errorCorrectionLevel: 'M', margin: 2, scale: 6 }).then(
        (png) => {
          registered.qrPng = { url, png };
          // The link may have moved on while the image was drawn.
          if (this.links.get(registered.link.slug) !== registered || qrUrl(registered.link.snapshot()) !== url) return;
          sendPng(png);
        },
        (err: unknown) => this.log.warn(`[mqtt] could not draw the QR code: ${(err as Error).message}`),
      );
    });
  }

  /** Seconds the shown code still lives, for v5 message expiry; undefined when there is no code. */
  private codeExpiry(snapshot: Snapshot): number | undefined {
    if (!this.v5 || snapshot.state !== 'pending' || !snapshot.code_expires_at) return undefined;
    const remainingMs = Date.parse(snapshot.code_expires_at) - (this.options.clock ?? Date).now();
    return Math.max(1, Math.ceil(remainingMs / 1000));
  }

  /** Empties every retained topic of `slug`, or remembers to once connected. */
  private clearLink(slug: string): void {
    if (!this.connected) {
      this.pendingClears.add(slug);
      return;
    }
    this.pendingClears.delete(slug);
    const topics = new LinkTopics(this.baseTopic, slug);
    this.send(topics.state, '', true);
    for (const name of FIELD_TOPICS) this.send(topics.field(name), '', true);
    this.send(topics.qr, '', true);
    if (this.options.discovery !== false) this.send(discoveryTopic(this.discoveryPrefix, slug), '', true);
  }

  private onMessage(topic: string, payload: Buffer, packet: IPublishPacket): void {
    if (topic === `${this.discoveryPrefix}/status`) {
      // HA's birth message: it (re)started and needs the configs again. A retained copy arrives on
      // every subscribe, right after the connect that announced everything already.
      if (!packet.retain && payload.toString('utf8').trim() === 'online') {
        this.log.debug('[mqtt] Home Assistant came online; announcing again');
        for (const registered of this.links.values()) this.announce(registered);
      }
      return;
    }
    const prefix = `${this.baseTopic}/`;
    if (!topic.startsWith(prefix)) return;
    const levels = topic.slice(prefix.length).split('/');
    if (levels.length !== 3 || levels[1] !== 'request') return;
    // A retained request would replay on every reconnect.
    if (packet.retain) return;
    const registered = this.links.get(levels[0]!);
    if (!registered) return;
    void this.handleRequest(registered, levels[2]!, payload, packet.properties).catch((err: unknown) =>
      this.log.warn(`[mqtt] request on ${topic} failed: ${(err as Error).message}`),
    );
  }

  private async handleRequest(
    registered: Registered,
    action: string,
    payload: Buffer,
    properties: IPublishPacket['properties'],
  ): Promise<void> {
    const { link } = registered;
    const request = parseRequest(payload);
    let reply: RequestReply;
    if ('error' in request) {
      reply = { status: 'error', data: link.snapshot(), error: request.error, transaction: null };
    } else if (!isAction(action)) {
      reply = {
        status: 'error',
        data: link.snapshot(),
        error: { code: 'unknown_action', message: `Unknown request "${action}". Use start, cancel, refresh, revoke or status.` },
        transaction: request.transaction,
      };
    } else {
      try {
        const data = await perform(link, action);
        reply = { status: 'ok', data, error: null, transaction: request.transaction };
      } catch (err) {
        const problem = toLinkError(err, link.snapshot().provider);
        reply = { status: 'error', data: link.snapshot(), error: problem.toJSON(), transaction: request.transaction };
      }
    }
    const body = JSON.stringify(reply);
    this.send(registered.topics.response(action), body, false, { contentType: JSON_CONTENT });
    const responseTopic = properties?.responseTopic;
    if (this.v5 && responseTopic && !/[+#]/.test(responseTopic)) {
      this.send(responseTopic, body, false, {
        contentType: JSON_CONTENT,
        ...(properties?.correlationData ? { correlationData: properties.correlationData } : {}),
      });
    }
  }

  private send(
    topic: string,
    payload: string | Buffer,
    retain: boolean,
    properties?: NonNullable<IClientPublishOptions['properties']>,
  ): void {
    const client = this.client;
    // Nothing is queued while offline: the next connect publishes the state of that moment.
    if (!client?.connected) return;
    const options: IClientPublishOptions = { qos: 1, retain };
    if (this.v5 && properties) options.properties = properties;
    client.publish(topic, payload, options, (err) => {
      if (err) this.log.debug(`[mqtt] publish to ${topic} failed: ${err.message}`);
    });
  }

  private detach(registered: Registered): void {
    registered.link.off('snapshot', registered.onSnapshot);
    registered.link.off('event', registered.onEvent);
  }

  private setStatus(status: ConnectionStatus): void {
    this.current = status;
    this.emit('status', status);
  }
}

/** Runs one command against a link and gives the snapshot to answer with. */
async function perform(link: Link, action: 'start' | 'cancel' | 'refresh' | 'revoke' | 'status'): Promise<Snapshot> {
  switch (action) {
    case 'start':
      return (await link.start()).pending;
    case 'cancel':
      return link.cancel();
    case 'refresh':
      return link.refresh();
    case 'revoke':
      return (await link.revoke()).snapshot;
    case 'status':
      return link.snapshot();
  }
}


/** An empty payload, or a JSON object whose optional `transaction` is echoed in the reply. */
export function parseRequest(payload: Buffer): { transaction: unknown } | { error: { code: string; message: string } } {
  if (payload.length > MAX_REQUEST_BYTES) {
    return { error: { code: 'bad_request', message: `The request is larger than ${MAX_REQUEST_BYTES} bytes.` } };
  }
  const text = payload.toString('utf8').trim();
  if (text === '') return { transaction: null };
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { error: { code: 'bad_request', message: 'The request must be empty or a JSON object like {"transaction": "1"}.' } };
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    return { error: { code: 'bad_request', message: 'The request must be empty or a JSON object like {"transaction": "1"}.' } };
  }
  return { transaction: (body as { transaction?: unknown }).transaction ?? null };
}

function fieldValue(snapshot: Snapshot, name: FieldTopic): string {
  switch (name) {
    case 'link_state':
      return snapshot.state;
    case 'account':
      return snapshot.account?.name ?? '';
    default:
      return snapshot[name] ?? '';
  }
}

/** What the QR code encodes while a code is shown; '' otherwise. */
function qrUrl(snapshot: Snapshot): string {
  if (snapshot.state !== 'pending') return '';
  return snapshot.verification_uri_complete ?? snapshot.verification_uri ?? '';
}

function defaultOrigin(): DiscoveryOrigin {
  try {
    // dist/mqtt/ and src/mqtt/ both sit two levels below the package root.
    const pkg = require('../../package.json') as { name?: string; version?: string };
    return { name: pkg.name ?? 'node-red-contrib-account-link', ...(pkg.version ? { sw: pkg.version } : {}) };
  } catch {
    return { name: 'node-red-contrib-account-link' };
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
