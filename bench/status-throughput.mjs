// Issue 3: messages per second through `account-link-status` on a linked link whose access token is
// cached, in one embedded Node-RED runtime (require('node-red'), this package loaded from
// <userDir>/node_modules like an install). Plain, against a core `change` node with no rules; with
// exposeToken, against a `change` node setting the same msg.access_token and msg.headers.Authorization
// (what a flow does without exposeToken; that change node against the rule-less one is reported too).
// The link is pre-seeded: its store file is written with TokenStore before Node-RED starts, so no
// provider is ever asked (the token endpoint is a closed loopback port).
//
// Each measured node is fed by node.receive() in bursts of BENCH_BURST messages shaped as a default
// inject node's (payload and an empty topic: with no topic, the status node's setting it costs a new
// property on every message, about 0.08 of the change node's time) and wired to a tiny
// sink node that counts; a round is BENCH_MESSAGES messages; the four nodes take turns (every other
// round in reverse order) over BENCH_ROUNDS rounds after one warm-up round. Figures are the median
// round: wall-clock messages per second, and CPU time (user + system) of this process per message,
// which other load on the machine disturbs far less than wall time. Ratios are the median over rounds
// of the node's round against its baseline's round in the same turn.
//
// --single-threaded: V8's background threads (parallel GC, concurrent compilation) made rounds
// bimodal on this 2-core VM (about 330k or 480k msgs/s, every node alike) and added 10-30% CPU off
// the main thread at random; on one thread the process's CPU is the main thread's work.
// Node flags: --single-threaded
//
// Run: npm run build && node --expose-gc --single-threaded bench/status-throughput.mjs
// Env: BENCH_MESSAGES (100000), BENCH_ROUNDS (15), BENCH_BURST (500).
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { linkedRecord, loadCore, tempDir } from './lib/core.mjs';
import { emit, exitOnFailedChecks } from './lib/report.mjs';
import { median, round } from './lib/stats.mjs';
import { initBenchNodeRed, nodeRedFeeder } from './lib/node-red-feed.mjs';

const messagesPerRound = Number(process.env.BENCH_MESSAGES ?? 100_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 15);
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
    // What a flow does without exposeToken: a change node setting the same two properties.
    {
      id: 'change_token',
      type: 'change',
      rules: [
        { t: 'set', p: 'access_token', pt: 'msg', to: record.tokens.accessToken, tot: 'str' },
        { t: 'set', p: 'headers.Authorization', pt: 'msg', to: `Bearer ${record.tokens.accessToken}`, tot: 'str' },
      ],
    },
  ],
});

/** @type {(msg: Record<string, any>) => void} */
const feeder = nodeRedFeeder({ messagesPerRound, burst, timeoutMs: 20_000 });

const expectedAuthorization = `Bearer ${record.tokens.accessToken}`;
const checks = {};
const perRound = { change: [], change_setting_token: [], status: [], status_expose_token: [] };
const cpuPerRound = { change: [], change_setting_token: [], status: [], status_expose_token: [] };
// Every check reads the same three properties of each message, so the sink costs every node alike.
const withoutToken = (msg) => msg.access_token === undefined && msg.headers === undefined;
const withExpectedToken = (msg) => msg.access_token === record.tokens.accessToken && msg.headers?.Authorization === expectedAuthorization;
const fromChange = (msg) => msg.payload?.bench === true && msg.topic === '';
const fromStatus = (msg) => msg.payload?.state === 'linked' && msg.topic === SLUG;
const variants = [
  ['change', 'change', (msg) => fromChange(msg) && withoutToken(msg)],
  ['change_setting_token', 'change_token', (msg) => fromChange(msg) && withExpectedToken(msg)],
  ['status', 'status', (msg) => fromStatus(msg) && withoutToken(msg)],
  ['status_expose_token', 'token', (msg) => fromStatus(msg) && withExpectedToken(msg)],
];

try {
  await RED.start();
  const nodes = await feeder.waitForNodes(RED, ['status', 'token', 'change', 'change_token', 'sink']);
  const account = RED.nodes.getNode(ACCOUNT_ID);
  const link = await account.ready;
  checks.seeded_link_is_linked = link.snapshot().state === 'linked';

  for (let r = 0; r <= rounds; r++) {
    // Every other round in reverse, so no node always runs first after the collection before a round.
    for (const [key, id, valid] of r % 2 ? [...variants].reverse() : variants) {
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

const rate = (key) => Math.round(median(perRound[key]));
const cpu = (key) => round(median(cpuPerRound[key]));
// The ratio of each round to the change node's in the same round, then the median: the machine's
// speed can shift between rounds (see the note on threads above), far less within one.
const pairedRatio = (perKey, key, baselineKey) => round(median(perKey[key].map((value, r) => value / perKey[baselineKey][r])), 4);
/** Each figure's key, what it is measured against, and the node in the baseline. */
const comparisons = [
  ['status', 'change'],
  ['status_expose_token', 'change_setting_token'],
  ['change_setting_token', 'change'],
];
const byFigure = (measure) => Object.fromEntries(comparisons.map(([key]) => [key, measure(key)]));
const byBaseline = (measure) => Object.fromEntries(comparisons.map(([key, baselineKey]) => [key, measure(baselineKey)]));
const result = emit({
  name: 'status-throughput',
  figures: { msgs_per_s: byFigure(rate), cpu_us_per_msg: byFigure(cpu) },
  baseline: { msgs_per_s: byBaseline(rate), cpu_us_per_msg: byBaseline(cpu) },
  ratio: Object.fromEntries(
    comparisons.flatMap(([key, baselineKey]) => [
      [`msgs_per_s.${key}`, pairedRatio(perRound, key, baselineKey)],
      [`cpu_us_per_msg.${key}`, pairedRatio(cpuPerRound, key, baselineKey)],
    ]),
  ),
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
    'baselines, same feed, sink and runtime, rounds interleaved: status against a core change node with no rules; status_expose_token against a change node setting msg.access_token and msg.headers.Authorization (what a flow does without exposeToken); change_setting_token against the rule-less change node (the cost of that work itself)',
    'figures: median round of BENCH_ROUNDS; ratio: median over rounds of the node / the change node in the same round',
    'each message goes feed -> node -> sink through Node-RED routing',
  ],
});
exitOnFailedChecks(result.checks ?? {});
process.exit(process.exitCode ?? 0);
