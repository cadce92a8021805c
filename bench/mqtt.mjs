// MQTT publisher benchmark (dist/, loopback mosquitto). Run: npm run build && node --expose-gc bench/mqtt.mjs
// 1. 1,000 state changes of one link, one at a time: change -> subscriber latency p50/p99.
// 2. 100 links, mosquitto restarted (down BENCH_BROKER_DOWN_MS, default 1000): time from the broker
//    being back until a subscriber has every link's state again, with the publisher's default
//    reconnect (Node-RED's 5 s mqttReconnectTime as the longest wait). Goal (issue 14): <= 2 s.
// 3. Client memory with 100 links registered.
// Prints one JSON object.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { mosquittoBinary, startMosquitto } from './lib/mosquitto.mjs';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const require = createRequire(import.meta.url);
const { Link, TokenStore } = require(path.join(root, 'dist/core/index.js'));
const { MqttPublisher } = require(path.join(root, 'dist/mqtt/index.js'));
const mqtt = require('mqtt');

const CHANGES = 1000;
const LINKS = 100;
const BASE = 'bench';
const BROKER_DOWN_MS = Number(process.env.BENCH_BROKER_DOWN_MS ?? 1000);
const RECOVERY_GOAL_MS = 2000;

if (!mosquittoBinary) {
  console.log(JSON.stringify({ name: 'mqtt', skipped: 'mosquitto is not installed (apt-get install -y mosquitto)' }));
  process.exit(0);
}

const work = mkdtempSync(path.join(os.tmpdir(), 'account-link-bench-'));
const broker = await startMosquitto(work);
const url = broker.url;

try {
  const latency = await measureLatency();
  const restart = await measureRestart();
  console.log(
  JSON.stringify(
    {
      name: 'mqtt',
      figures: { latency, restart: restart.restart, memory: restart.memory },
      baseline: { restart: { broker_up_to_all_states_ms: RECOVERY_GOAL_MS } },
      params: { broker: 'mosquitto', protocolVersion: 5, gc: typeof globalThis.gc === 'function', broker_down_ms: BROKER_DOWN_MS },
      checks: { recovered_within_goal: restart.restart.broker_up_to_all_states_ms <= RECOVERY_GOAL_MS },
      notes: [
        'restart baseline: the issue 14 goal (2 s from the broker being back to every state); before the fast first retry it was 4.9 s with the same default 5 s period',
      ],
    },
    null,
    2,
  ),
);
} finally {
  await broker.stop();
  rmSync(work, { recursive: true, force: true });
}

async function measureLatency() {
  const store = await TokenStore.open(path.join(work, 'latency'));
  const { link } = makeLink('latency', store);
  await link.load();
  const publisher = new MqttPublisher({ broker: url, protocolVersion: 5, discovery: false, baseTopic: BASE });
  publisher.register(link);
  await reached(publisher, 'connected');
  // The subscriber runs in a worker thread, so the publisher's own CPU work (QR codes) does not
  // delay its reading; both sides stamp absolute high-resolution times.
  const topic = `${BASE}/latency/state`;
  const subscriber = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const mqtt = require(workerData.mqtt);
     mqtt.connectAsync(workerData.url, { protocolVersion: 5 }).then(async (client) => {
       client.on('message', (t, payload, packet) => {
         if (packet.retain) return;
         parentPort.postMessage({ at: performance.timeOrigin + performance.now(), state: JSON.parse(payload.toString()).state });
       });
       await client.subscribeAsync(workerData.topic, { qos: 1 });
       parentPort.postMessage({ ready: true });
       parentPort.on('message', () => client.endAsync().then(() => process.exit(0)));
     });`,
    { eval: true, workerData: { url, topic, mqtt: require.resolve('mqtt') } },
  );
  await new Promise((resolve) => subscriber.once('message', resolve));
  let expectState;
  let onArrive;
  subscriber.on('message', (message) => {
    if (message.state === expectState) onArrive?.(message.at);
  });
  const samples = [];
  const byState = { pending: [], unlinked: [] };
  for (let i = 0; i < CHANGES; i++) {
    const pending = link.snapshot().state !== 'pending';
    expectState = pending ? 'pending' : 'unlinked';
    const arrived = new Promise((resolve) => (onArrive = resolve));
    let changedAt = 0;
    link.prependOnceListener('snapshot', () => (changedAt = performance.timeOrigin + performance.now()));
    if (pending) await link.start();
    else link.cancel();
    const arrivedAt = await arrived;
    samples.push(arrivedAt - changedAt);
    byState[expectState].push(arrivedAt - changedAt);
  }
  subscriber.postMessage('stop');
  await new Promise((resolve) => subscriber.once('exit', resolve));
  await publisher.close();
  await link.close();
  const pick = (list, q) => {
    const sorted = [...list].sort((a, b) => a - b);
    return round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]);
  };
  return {
    changes: CHANGES,
    p50_ms: pick(samples, 0.5),
    p99_ms: pick(samples, 0.99),
    max_ms: pick(samples, 1),
    to_pending: { p50_ms: pick(byState.pending, 0.5), p99_ms: pick(byState.pending, 0.99) },
    to_unlinked: { p50_ms: pick(byState.unlinked, 0.5), p99_ms: pick(byState.unlinked, 0.99) },
  };
}

async function measureRestart() {
  const store = await TokenStore.open(path.join(work, 'restart'));
  await gc();
  const before = process.memoryUsage();
  const links = [];
  for (let i = 0; i < LINKS; i++) {
    const { link } = makeLink(`room-${i}`, store);
    await link.load();
    if (i % 3 === 0) await link.start();
    links.push(link);
  }
  await gc();
  const withLinks = process.memoryUsage();
  // The default reconnect schedule, as a node with Node-RED's default settings gets it.
  const publisher = new MqttPublisher({ broker: url, protocolVersion: 5, baseTopic: BASE });
  for (const link of links) publisher.register(link);
  await reached(publisher, 'connected');
  await allStates(links.length); // every link announced once (QR codes drawn too)
  await gc();
  const withPublisher = process.memoryUsage();

  await broker.stop();
  await reached(publisher, 'disconnected');
  await new Promise((resolve) => setTimeout(resolve, BROKER_DOWN_MS));
  const brokerStartedAt = performance.now();
  await broker.start();
  const brokerUp = performance.now();
  await reached(publisher, 'connected');
  const reconnected = performance.now();
  await allStates(links.length);
  const allBack = performance.now();

  await publisher.close();
  await Promise.all(links.map((link) => link.close()));
  return {
    restart: {
      links: LINKS,
      broker_down_ms: BROKER_DOWN_MS,
      broker_start_ms: round(brokerUp - brokerStartedAt),
      broker_up_to_all_states_ms: round(allBack - brokerUp),
      reconnect_to_all_states_ms: round(allBack - reconnected),
    },
    memory: {
      links: LINKS,
      // The publisher and its MQTT client with every link registered, announced and its QR drawn
      // (heap plus Buffers), measured after forced GCs; the 100 Links themselves are counted apart.
      publisher_heap_kb: Math.round((withPublisher.heapUsed - withLinks.heapUsed) / 1024),
      publisher_external_kb: Math.round((withPublisher.external - withLinks.external) / 1024),
      publisher_rss_kb: Math.round((withPublisher.rss - withLinks.rss) / 1024),
      links_heap_kb: Math.round((withLinks.heapUsed - before.heapUsed) / 1024),
      process_rss_mb: round(withPublisher.rss / 1024 / 1024),
    },
  };
}

/** Subscribes a fresh client to every state topic and resolves once `count` distinct links were seen. */
async function allStates(count) {
  const client = await mqtt.connectAsync(url, { protocolVersion: 5 });
  const seen = new Set();
  const done = new Promise((resolve) => {
    client.on('message', (topic) => {
      seen.add(topic);
      if (seen.size === count) resolve();
    });
  });
  await client.subscribeAsync(`${BASE}/+/state`, { qos: 1 });
  await done;
  await client.endAsync();
}

function makeLink(slug, store) {
  let codes = 0;
  const pairing = async ({ clock, signal }) => {
    const code = `BDWP-${String(++codes).padStart(4, '0')}`;
    const tokens = new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
    tokens.catch(() => undefined);
    return {
      userCode: code,
      verificationUri: 'http://192.168.1.20:1880/link',
      verificationUriComplete: `http://192.168.1.20:1880/link?user_code=${code}`,
      expiresAt: clock.now() + 600_000,
      tokens,
    };
  };
  const link = new Link({
    id: `bench-${slug}`,
    slug,
    settings: {
      provider: 'custom',
      clientId: 'bench',
      flow: 'pairing',
      authorizationEndpoint: 'https://auth.example.test/authorize',
      tokenEndpoint: 'https://auth.example.test/token',
    },
    store,
    pairing,
  });
  return { link };
}

function reached(publisher, state) {
  if (publisher.status.state === state) return Promise.resolve();
  return new Promise((resolve) => {
    const listener = (status) => {
      if (status.state !== state) return;
      publisher.off('status', listener);
      resolve();
    };
    publisher.on('status', listener);
  });
}

async function gc() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc?.();
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function round(value) {
  return Math.round(value * 100) / 100;
}
