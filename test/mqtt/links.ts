/**
 * Real core Links for the MQTT tests, without a real provider: a fake pairing method hands out
 * codes and resolves tokens on demand, and undici's MockAgent answers the token endpoint for
 * refreshes. Also an observer MQTT client that records what the broker delivers.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectAsync, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { MockAgent } from 'undici';
import { Link, TokenStore, type LinkingMethod, type LinkingSession, type Snapshot, type SpeechOptions } from '../../src/core/index.js';
import type { ConnectionStatus, MqttPublisher } from '../../src/mqtt/index.js';
import { mosquittoPath, startMosquitto, type MosquittoBroker } from '../helpers/brokers.js';

type TokenResponse = Awaited<LinkingSession['tokens']>;

export const ACCESS_TOKEN = 'at-SECRET-3f9a1c';
export const REFRESH_TOKEN = 'rt-SECRET-77b2e0';
export const ROTATED_REFRESH_TOKEN = 'rt-SECRET-rotated-0c4d';
const TOKEN_ENDPOINT = 'https://auth.example.test/token';

const dirs: string[] = [];

export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'account-link-mqtt-'));
  dirs.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A clock whose `now` the test sets; timers never fire by themselves (the tests drive links by hand). */
export class ManualClock {
  constructor(public time = Date.parse('2026-11-28T15:00:00.000Z')) {}
  now(): number {
    return this.time;
  }
  setTimer(): { id: number } {
    return { id: 0 };
  }
  clearTimer(): void {}
}

/** The fake pairing method: each `start()` gets a code; `approve()` finishes the attempt. */
export class FakePairing {
  codeLifeMs = 10 * 60_000;
  private resolveTokens: ((value: TokenResponse) => void) | undefined;
  private count = 0;

  constructor(private readonly publicUrl = 'http://192.168.1.20:1880/link') {}

  readonly method: LinkingMethod = async ({ clock, signal }) => {
    this.count++;
    const code = `BDWP-HQ${String(this.count).padStart(2, '0')}`;
    const tokens = new Promise<TokenResponse>((resolve, reject) => {
      this.resolveTokens = resolve;
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
    tokens.catch(() => undefined);
    return {
      userCode: code,
      verificationUri: this.publicUrl,
      verificationUriComplete: `${this.publicUrl}?user_code=${code}`,
      expiresAt: clock.now() + this.codeLifeMs,
      tokens,
    };
  };

  /** The person approved: the attempt ends with these (secret) tokens. */
  approve(): void {
    this.resolveTokens?.({
      access_token: ACCESS_TOKEN,
      token_type: 'Bearer',
      expires_in: 3600,
      refresh_token: REFRESH_TOKEN,
      scope: 'user-read-playback-state',
    } as TokenResponse);
  }
}

/** A MockAgent whose token endpoint answers every refresh with a rotated refresh token. */
export function tokenEndpointAgent(): MockAgent {
  const agent = new MockAgent();
  agent.disableNetConnect();
  agent
    .get('https://auth.example.test')
    .intercept({ path: '/token', method: 'POST' })
    .reply(
      200,
      { access_token: `${ACCESS_TOKEN}-2`, token_type: 'Bearer', expires_in: 3600, refresh_token: ROTATED_REFRESH_TOKEN },
      { headers: { 'content-type': 'application/json' } },
    )
    .persist();
  return agent;
}

export interface TestLink {
  link: Link;
  pairing: FakePairing;
  clock: ManualClock;
}

/**
 * A loaded Link on a `custom` provider (or Spotify, which has a page for removing access) with the
 * fake pairing flow; `linked` starts it linked as Alice.
 */
export async function makeLink(
  slug: string,
  options: {
    linked?: boolean;
    store?: TokenStore;
    clock?: ManualClock;
    id?: string;
    agent?: MockAgent;
    spotify?: boolean;
    name?: string;
    speech?: SpeechOptions;
  } = {},
): Promise<TestLink> {
  const store = options.store ?? (await TokenStore.open(await tempDir()));
  const clock = options.clock ?? new ManualClock();
  const id = options.id ?? `node-${slug}`;
  if (options.linked) {
    await store.write(id, {
      tokens: {
        accessToken: ACCESS_TOKEN,
        tokenType: 'Bearer',
        expiresAt: clock.now() + 3_600_000,
        refreshToken: REFRESH_TOKEN,
        scope: 'user-read-playback-state',
        obtainedAt: clock.now(),
        // As a provider states it (GitHub, Keycloak): the refresh_expires_at topic and sensor carry it.
        refreshExpiresAt: clock.now() + 90 * 24 * 3_600_000,
        refreshExpiresStated: true,
      },
      account: { id: 'alice-id', name: 'Alice' },
      problem: null,
    });
  }
  const pairing = new FakePairing();
  const link = new Link({
    id,
    slug,
    settings: options.spotify
      ? { provider: 'spotify', clientId: 'test-client', flow: 'pairing' }
      : {
          provider: 'custom',
          clientId: 'test-client',
          flow: 'pairing',
          authorizationEndpoint: 'https://auth.example.test/authorize',
          tokenEndpoint: TOKEN_ENDPOINT,
        },
    store,
    clock,
    name: options.name,
    speech: options.speech,
    pairing: pairing.method,
    http: options.agent ? { dispatcher: options.agent } : {},
  });
  await link.load();
  return { link, pairing, clock };
}

export interface Received {
  topic: string;
  payload: Buffer;
  retain: boolean;
  properties: IPublishPacket['properties'];
  text: string;
}

/** A subscriber that records every message it gets, and can wait for one that matches. */
export class Observer {
  readonly messages: Received[] = [];
  private waiters: { match: (m: Received) => boolean; resolve: (m: Received) => void }[] = [];

  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload, packet) => {
      const message: Received = { topic, payload, retain: packet.retain, properties: packet.properties, text: payload.toString('utf8') };
      this.messages.push(message);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(message)) return true;
        waiter.resolve(message);
        return false;
      });
    });
  }

  /** Connects and subscribes to `topics` (QoS 1), resolving once the subscription is acknowledged. */
  static async connect(url: string, topics: string[], options: IClientOptions = {}): Promise<Observer> {
    const client = await connectAsync(url, { reconnectPeriod: 50, clean: true, ...options });
    const observer = new Observer(client);
    if (topics.length) await client.subscribeAsync(topics, { qos: 1 });
    return observer;
  }

  /** The first message (already received or still to come) that matches, or a timeout error. */
  waitFor(match: (m: Received) => boolean, what = 'a message', timeoutMs = 5000): Promise<Received> {
    const seen = this.messages.find(match);
    if (seen) return Promise.resolve(seen);
    return this.next(match, what, timeoutMs);
  }

  /** The next message from now on that matches. */
  next(match: (m: Received) => boolean, what = 'a message', timeoutMs = 5000): Promise<Received> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out waiting for ${what}; got ${this.messages.map((m) => `${m.topic}=${m.text.slice(0, 60)}`).join(' | ')}`));
      }, timeoutMs);
      const done = (m: Received): void => {
        clearTimeout(timer);
        resolve(m);
      };
      this.waiters.push({ match, resolve: done });
    });
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  last(topic: string): Received | undefined {
    return this.on(topic).at(-1);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Resolves with the snapshot once `link` reaches `state`. */
export function whenState(link: Link, state: Snapshot['state']): Promise<Snapshot> {
  if (link.snapshot().state === state) return Promise.resolve(link.snapshot());
  return new Promise((resolve) => {
    const listener = (snapshot: Snapshot): void => {
      if (snapshot.state !== state) return;
      link.off('snapshot', listener);
      resolve(snapshot);
    };
    link.on('snapshot', listener);
  });
}

/**
 * Subscribes a fresh client and collects the retained messages it is given. A marker published
 * after the subscription is acknowledged arrives after them (one connection keeps order).
 */
export async function retainedOn(url: string, filter: string, options: IClientOptions = {}): Promise<Map<string, Received>> {
  const observer = await Observer.connect(url, [], options);
  const marker = `test-marker/${Math.random().toString(16).slice(2)}`;
  await observer.client.subscribeAsync([filter, marker], { qos: 1 });
  await observer.client.publishAsync(marker, 'end', { qos: 1 });
  await observer.waitFor((m) => m.topic === marker, 'the marker');
  await observer.close();
  return new Map(observer.messages.filter((m) => m.retain).map((m) => [m.topic, m]));
}

/** Resolves once the publisher's connection is in `state` (at once if it already is). */
export function reaches(publisher: MqttPublisher, state: ConnectionStatus['state']): Promise<void> {
  if (publisher.status.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const listener = (status: ConnectionStatus): void => {
      if (status.state !== state) return;
      publisher.off('status', listener);
      resolve();
    };
    publisher.on('status', listener);
  });
}

/**
 * A mosquitto broker (MQTT v5) for one describe block, skipped with a printed reason when the
 * binary is absent, with observers that are closed after each test. `settings` may add config
 * lines (its files can live in a `tempDir()`, removed afterwards).
 */
export function useMosquitto(settings: () => Promise<{ config?: string[] }> | { config?: string[] } = () => ({})): {
  readonly broker: MosquittoBroker;
  observe(topics: string[], options?: IClientOptions): Promise<Observer>;
} {
  let broker: MosquittoBroker | undefined;
  const observers: Observer[] = [];
  before(async function () {
    if (!mosquittoPath()) {
      console.log('    skipped: the mosquitto binary is not installed (apt-get install -y mosquitto)');
      this.skip();
    }
    broker = await startMosquitto(undefined, await settings());
  });
  after(async () => {
    await broker?.dispose();
    await removeTempDirs();
  });
  afterEach(async () => {
    await Promise.all(observers.splice(0).map((o) => o.close()));
  });
  return {
    get broker() {
      if (!broker) throw new Error('mosquitto is not running');
      return broker;
    },
    async observe(topics, options = {}) {
      const observer = await Observer.connect(this.broker.url, topics, { protocolVersion: 5, ...options });
      observers.push(observer);
      return observer;
    },
  };
}
