// Feeding a Node-RED flow from a bench: an embedded runtime with this package installed, a flow of the
// bench's nodes between one linked account and a sink node (which calls globalThis.__benchSink for every
// message), and a feeder that pushes messages into one node in bursts and counts what reaches the sink.
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import { root } from './core.mjs';

const require = createRequire(import.meta.url);

/**
 * Starts nothing yet: lays out `userDir` (this package as an installed module, the sink node type, a
 * flow of `nodes` on one tab with the account `accountId` (slug `slug`, whose tokens the bench stored)
 * and a `sink`), and initialises Node-RED on it. Resolves with `{RED, server}`; call `RED.start()`.
 */
export function initBenchNodeRed({ userDir, accountId, slug, nodes }) {
  mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
  symlinkSync(root, path.join(userDir, 'node_modules', 'node-red-contrib-account-link'), 'dir');
  mkdirSync(path.join(userDir, 'nodes'), { recursive: true });
  writeFileSync(
    path.join(userDir, 'nodes', 'bench-sink.js'),
    `module.exports = function (RED) {
  function BenchSink(config) {
    RED.nodes.createNode(this, config);
    this.on('input', (msg, send, done) => { globalThis.__benchSink(msg); done(); });
  }
  RED.nodes.registerType('bench-sink', BenchSink);
};\n`,
  );
  writeFileSync(
    path.join(userDir, 'nodes', 'bench-sink.html'),
    `<script type="text/javascript">RED.nodes.registerType('bench-sink', {category: 'common', defaults: {}, inputs: 1, outputs: 0});</script>\n`,
  );
  const flows = [
    { id: 'tab', type: 'tab', label: 'bench' },
    {
      id: accountId,
      type: 'account-link',
      name: 'Bench account',
      link: slug,
      provider: 'custom',
      clientId: 'bench-client',
      // Nothing listens there: the bench fails loudly if the node ever asks the provider.
      tokenEndpoint: 'http://127.0.0.1:9/token',
      flow: 'auto',
    },
    ...nodes.map((node) => ({ z: 'tab', wires: [['sink']], ...node })),
    { id: 'sink', z: 'tab', type: 'bench-sink', wires: [] },
  ].map((node) => (node.z ? { x: 100, y: 100, ...node } : node));
  writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));

  const RED = require('node-red');
  const server = createServer();
  RED.init(server, {
    userDir,
    flowFile: 'flows.json',
    credentialSecret: false,
    uiPort: 0,
    httpNodeRoot: '/',
    httpAdminRoot: '/',
    disableEditor: true,
    logging: { console: { level: 'warn', metrics: false, audit: false } },
    // No external modules, telemetry or palette look-ups from the bench.
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    telemetry: { enabled: false },
    diagnostics: { enabled: false },
  });
  return { RED, server };
}

/**
 * A feeder for rounds of `messagesPerRound` messages sent in bursts of `burst`; each burst must reach
 * the sink within `timeoutMs`. Each message is what a default inject node sends (`payload` and an
 * empty `topic`) unless a round asks for messages without a topic: a node that sets `topic` on a
 * message that has none pays for a new property (the status bench reports both).
 */
export function nodeRedFeeder({ messagesPerRound, burst, timeoutMs }) {
  let onSink = () => undefined;
  globalThis.__benchSink = (msg) => onSink(msg);
  return {
    /** Resolves with the named flow nodes once Node-RED has started them. */
    async waitForNodes(RED, ids) {
      for (let attempt = 0; attempt < 200; attempt++) {
        const found = Object.fromEntries(ids.map((id) => [id, RED.nodes.getNode(id)]));
        if (Object.values(found).every(Boolean)) return found;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      throw new Error(`Node-RED did not start the bench flow (nodes ${ids.join(', ')})`);
    },
    /**
     * One round into `node`: its time, CPU, and whether every message arrived and passed `valid`.
     * With `topic: false` the messages have no topic (as from an http in or a function node).
     */
    async pump(node, valid, { topic = true } = {}) {
      globalThis.gc?.();
      let received = 0;
      let intact = true;
      let wake = () => undefined;
      onSink = (msg) => {
        received++;
        if (!valid(msg)) intact = false;
        if (received % burst === 0 || received === messagesPerRound) wake();
      };
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      for (let sent = 0; sent < messagesPerRound; ) {
        const target = Math.min(sent + burst, messagesPerRound);
        const arrived = new Promise((resolve) => (wake = resolve));
        // Shaped as a default inject node's message (payload and topic), or without the topic.
        if (topic) for (; sent < target; sent++) node.receive({ payload: { bench: true, i: sent }, topic: '' });
        else for (; sent < target; sent++) node.receive({ payload: { bench: true, i: sent } });
        await withTimeout(arrived, timeoutMs, `${node.type} ${node.id}: ${received}/${target} messages arrived`);
      }
      const ms = performance.now() - started;
      const cpu = process.cpuUsage(cpuBefore);
      onSink = () => undefined;
      return { ms, cpuUs: cpu.user + cpu.system, ok: intact && received === messagesPerRound };
    },
  };
}

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))),
  ]).finally(() => clearTimeout(timer));
}
