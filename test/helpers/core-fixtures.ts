import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TokenEndpointResponse } from 'openid-client';
import type { Clock } from '../../src/core/clock.js';
import type { LinkingMethod } from '../../src/core/device-flow.js';
import { Link } from '../../src/core/link.js';
import type { LinkOptions } from '../../src/core/link-types.js';
import type { Logger } from '../../src/core/logger.js';
import type { LinkEvent, LinkEventType, Snapshot } from '../../src/core/snapshot.js';
import { TokenStore } from '../../src/core/store.js';
import { startTestProvider, type TestProvider, type TestProviderOptions } from '../../demo/sign-in-server.js';
import { ManualClock } from './manual-clock.js';

/** A fresh temporary folder; `cleanup()` removes every folder made so far. */
export async function tempDir(prefix = 'account-link-test-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

const made: string[] = [];

export async function cleanupTempDirs(): Promise<void> {
  await Promise.all(made.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** Everything a link said: snapshots, events and log lines, in order. */
export interface Recorder {
  snapshots: Snapshot[];
  /** Events as recorded; any type's details can be read without narrowing. */
  events: (LinkEvent & Record<string, unknown>)[];
  logs: { level: keyof Logger; message: string }[];
  logger: Logger;
  eventTypes(): string[];
  states(): string[];
  attach(link: Link): void;
}

export function recorder(): Recorder {
  const rec: Recorder = {
    snapshots: [],
    events: [],
    logs: [],
    logger: {
      debug: (message) => void rec.logs.push({ level: 'debug', message }),
      info: (message) => void rec.logs.push({ level: 'info', message }),
      warn: (message) => void rec.logs.push({ level: 'warn', message }),
      error: (message) => void rec.logs.push({ level: 'error', message }),
    },
    eventTypes: () => rec.events.map((e) => e.event_type),
    states: () => rec.snapshots.map((s) => s.state),
    attach(link) {
      link.on('snapshot', (s) => rec.snapshots.push(s));
      link.on('event', (e) => rec.events.push(e));
    },
  };
  return rec;
}

/** Resolves with the next event of this type the link emits. */
export function nextEvent<T extends LinkEventType>(link: Link, type: T): Promise<Extract<LinkEvent, { event_type: T }>> {
  return new Promise((resolve) => {
    const listener = (event: LinkEvent): void => {
      if (event.event_type !== type) return;
      link.off('event', listener);
      resolve(event as Extract<LinkEvent, { event_type: T }>);
    };
    link.on('event', listener);
  });
}

/** A Link with a recorder attached and its own store folder unless one is given. */
export async function makeLink(
  options: Omit<LinkOptions, 'store' | 'id' | 'slug'> & { store?: TokenStore; id?: string; slug?: string },
): Promise<{ link: Link; store: TokenStore; rec: Recorder }> {
  const store = options.store ?? (await TokenStore.open(await tempDir()));
  const rec = recorder();
  const link = new Link({
    id: 'node1',
    slug: 'test-link',
    random: () => 0,
    logger: rec.logger,
    ...options,
    store,
  });
  rec.attach(link);
  return { link, store, rec };
}

/** What `useRealProvider` keeps for the running test: the provider, a fresh clock, links to close. */
export interface RealProviderSuite {
  provider: TestProvider;
  clock: ManualClock;
  /** Links pushed here are closed after each test. */
  links: Link[];
}

/**
 * Mocha hooks for a suite against the real authorization server (oidc-provider): one provider for
 * the suite, with its records emptied, a ManualClock and no open link for each test.
 */
export function useRealProvider(options: TestProviderOptions = {}): RealProviderSuite {
  const suite = { links: [] as Link[] } as RealProviderSuite;
  before(async () => {
    suite.provider = await startTestProvider(options);
  });
  after(async () => {
    await suite.provider.close();
    await cleanupTempDirs();
  });
  beforeEach(() => {
    // Real HTTP to the provider and fsync between timers: give each chain time to arm its next timer.
    suite.clock = new ManualClock({ idleMs: 300 });
    suite.provider.requests.length = 0;
    suite.provider.revoked.length = 0;
  });
  afterEach(async () => {
    await Promise.all(suite.links.splice(0).map((link) => link.close()));
  });
  return suite;
}

/**
 * A stand-in pairing method whose person approves `approveAfterMs` after the code is shown, the
 * provider answering with `response`: for presets whose real pages a test cannot drive.
 */
export function instantPairing(clock: Clock, response: Partial<TokenEndpointResponse>, approveAfterMs = 30_000): LinkingMethod {
  return async ({ signal }) => ({
    userCode: 'BDWP-HQPK',
    verificationUri: 'http://192.168.1.20:1880/link',
    verificationUriComplete: 'http://192.168.1.20:1880/link?user_code=BDWP-HQPK',
    expiresAt: clock.now() + 600_000,
    tokens: new Promise<TokenEndpointResponse>((resolve, reject) => {
      const timer = clock.setTimer(approveAfterMs, () => resolve(response as TokenEndpointResponse));
      signal.addEventListener('abort', () => {
        clock.clearTimer(timer);
        reject(signal.reason);
      });
    }),
  });
}
