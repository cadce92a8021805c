// Issue 3: messages per second through `account-link-status` on a linked link whose access token is
// cached (plain, and with exposeToken), against a core `change` node with no rules, in one embedded
// Node-RED runtime (require('node-red'), this package loaded from <userDir>/node_modules like an
// install). The link is pre-seeded: its store file is written with TokenStore before Node-RED starts,
// so no provider is ever asked (the token endpoint is a closed loopback port).
//
// Each measured node is fed by node.receive() in bursts of BENCH_BURST messages and wired to a tiny
// sink node that counts; a round is BENCH_MESSAGES messages; the three nodes take turns over
// BENCH_ROUNDS rounds after one warm-up round, and the median round is reported: wall-clock messages
// per second, and CPU time (user + system) of this process per message, which other load on the
// machine disturbs far less than wall time.
//
// Run: npm run build && node bench/status-throughput.mjs
// Env: BENCH_MESSAGES (100000), BENCH_ROUNDS (9), BENCH_BURST (500).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { linkedRecord, loadCore, tempDir } from './lib/core.mjs';
import { emit, exitOnFailedChecks } from './lib/report.mjs';
import { round } from './lib/stats.mjs';
import { initBenchNodeRed, nodeRedFeeder } from './lib/node-red-feed.mjs';

const messagesPerRound = Number(process.env.BENCH_MESSAGES ?? 100_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 9);
const burst = Number(process.env.BENCH_BURST ?? 500);
const SLUG = 'bench-status';
const ACCOUNT_ID = 'bench-acct';

const core = loadCore();
const { dir: userDir, cleanup } = tempDir('status-throughput');

// The pre-seeded link: linked, access token valid for an hour (no refresh falls due during the bench).
const record = linkedRecord({ expiresAt: Date.now() + 3600_000, index: 0 });
const store = await core.TokenStore.open(path.join(userDir, 'account-link'));
await store.write(ACCOUNT_ID, record);

const { RED, server } = initBenchNodeRed({
  userDir,
  accountId: ACCOUNT_ID,
  slug: SLUG,
  nodes: [
    { id: 'status', type: 'account-link-status', account: ACCOUNT_ID },
    { id: 'token', type: 'account-link-status', account: ACCOUNT_ID, exposeToken: true },
    { id: 'change', type: 'change', rules: [] },
  ],
});

/** @type {(msg: Record<string, any>) => void} */
const feeder = nodeRedFeeder({ messagesPerRound, burst, timeoutMs: 20_000 });

const checks = {};
const perRound = { change: [], status: [], status_expose_token: [] };
const cpuPerRound = { change: [], status: [], status_expose_token: [] };
const variants = [
  ['change', 'change', (msg) => msg.payload?.bench === true],
  ['status', 'status', (msg) => msg.payload?.state === 'linked' && msg.topic === SLUG && msg.access_token === undefined],
  [
    'status_expose_token',
    'token',
    (msg) =>
      msg.payload?.state === 'linked' &&
      msg.access_token === record.tokens.accessToken &&
      msg.headers?.Authorization === `Bearer ${record.tokens.accessToken}`,
  ],
];

try {
  await RED.start();
  const nodes = await feeder.waitForNodes(RED, ['status', 'token', 'change', 'sink']);
  const account = RED.nodes.getNode(ACCOUNT_ID);
  const link = await account.ready;
  checks.seeded_link_is_linked = link.snapshot().state === 'linked';

  for (let r = 0; r <= rounds; r++) {
    for (const [key, id, valid] of variants) {
      const { ms, cpuUs, ok } = await feeder.pump(nodes[id], valid);
      if (r === 0) continue; // warm-up: JIT, first allocations
      perRound[key].push((messagesPerRound / ms) * 1000);
      cpuPerRound[key].push(cpuUs / messagesPerRound);
      checks[`${key}_every_message_arrived_intact`] = (checks[`${key}_every_message_arrived_intact`] ?? true) && ok;
    }
  }
  checks.link_still_linked_on_the_seeded_token = link.snapshot().state === 'linked' && (await link.accessToken()) === record.tokens.accessToken;
} finally {
  await RED.stop().catch(() => undefined);
  server.close();
  cleanup();
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
const rate = (key) => Math.round(median(perRound[key]));
const cpu = (key) => round(median(cpuPerRound[key]));
const changeRate = rate('change');
const result = emit({
  name: 'status-throughput',
  figures: {
    msgs_per_s: { status: rate('status'), status_expose_token: rate('status_expose_token') },
    cpu_us_per_msg: { status: cpu('status'), status_expose_token: cpu('status_expose_token') },
  },
  baseline: {
    msgs_per_s: { status: changeRate, status_expose_token: changeRate },
    cpu_us_per_msg: { status: cpu('change'), status_expose_token: cpu('change') },
  },
  params: {
    node_red: RED.version(),
    messages_per_round: messagesPerRound,
    rounds,
    burst,
    rounds_msgs_per_s: Object.fromEntries(Object.entries(perRound).map(([k, v]) => [k, v.map((x) => Math.round(x))])),
    rounds_cpu_us_per_msg: Object.fromEntries(Object.entries(cpuPerRound).map(([k, v]) => [k, v.map((x) => round(x))])),
  },
  checks,
  notes: [
    'baseline: a core change node with no rules between the same feed and sink, same runtime, rounds interleaved',
    'median round of BENCH_ROUNDS; each message goes feed -> node -> sink through Node-RED routing',
  ],
});
exitOnFailedChecks(result.checks ?? {});
process.exit(process.exitCode ?? 0);
