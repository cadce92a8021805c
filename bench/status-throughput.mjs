// Issue 3: messages per second through `account-link-status` on a linked link whose access token is
// cached, in one embedded Node-RED runtime (require('node-red'), this package loaded from
// <userDir>/node_modules like an install). Plain, against a core `change` node with no rules, fed
// messages shaped as a default inject node's (payload and an empty topic) and messages without a topic
// (the status node then adds a property to each); with exposeToken, against a `change` node setting
// the same msg.access_token and msg.headers.Authorization (what a flow does without exposeToken) and
// against the rule-less one. The link is pre-seeded: its store file is written with TokenStore before
// Node-RED starts, so no provider is ever asked (the token endpoint is a closed loopback port).
//
// Each variant feeds its node by node.receive() in bursts of BENCH_BURST messages; the nodes are wired
// to a tiny sink node that counts; a round is BENCH_MESSAGES messages; the variants take turns, in a
// new seeded random order each round, over BENCH_ROUNDS rounds after one warm-up round. Figures are
// the median round: wall-clock messages per second, and CPU time (user + system) of this process per
// message. Ratios are the median over rounds of the variant's round against its baseline's round in
// the same turn.
//
// --single-threaded: V8's background threads (parallel GC, concurrent compilation) made rounds
// bimodal on this 2-core VM (about 330k or 480k msgs/s, every node alike) and added 10-30% CPU off
// the main thread at random; on one thread the process's CPU is the main thread's work.
// Node flags: --single-threaded
//
// Run: npm run build && node --expose-gc --single-threaded bench/status-throughput.mjs
// Env: BENCH_MESSAGES (100000), BENCH_ROUNDS (15), BENCH_BURST (500), BENCH_SEED (14: the order of each round).
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
const SEED = Number(process.env.BENCH_SEED ?? 14);

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
// Every check reads the same three properties of each message, so the sink costs every node alike.
const withoutToken = (msg) => msg.access_token === undefined && msg.headers === undefined;
const withExpectedToken = (msg) => msg.access_token === record.tokens.accessToken && msg.headers?.Authorization === expectedAuthorization;
const fromChange = (msg, topic) => msg.payload?.bench === true && msg.topic === topic;
const fromStatus = (msg) => msg.payload?.state === 'linked' && msg.topic === SLUG;
/** Each variant: its key, the node fed, whether the messages carry a topic, and what each output must be. */
const variants = [
  ['change', 'change', true, (msg) => fromChange(msg, '') && withoutToken(msg)],
  ['change_no_topic', 'change', false, (msg) => fromChange(msg, undefined) && withoutToken(msg)],
  ['change_setting_token', 'change_token', true, (msg) => fromChange(msg, '') && withExpectedToken(msg)],
  ['status', 'status', true, (msg) => fromStatus(msg) && withoutToken(msg)],
  ['status_no_topic', 'status', false, (msg) => fromStatus(msg) && withoutToken(msg)],
  ['status_expose_token', 'token', true, (msg) => fromStatus(msg) && withExpectedToken(msg)],
];
const perRound = Object.fromEntries(variants.map(([key]) => [key, []]));
const cpuPerRound = Object.fromEntries(variants.map(([key]) => [key, []]));

try {
  await RED.start();
  const nodes = await feeder.waitForNodes(RED, ['status', 'token', 'change', 'change_token', 'sink']);
  const account = RED.nodes.getNode(ACCOUNT_ID);
  const link = await account.ready;
  checks.seeded_link_is_linked = link.snapshot().state === 'linked';

  const random = seededRandom(SEED);
  for (let r = 0; r <= rounds; r++) {
    // A new order each round: a node runs faster right after the same node type (warm caches), so a
    // fixed order, or a fixed order and its reverse, favours some variants in every round.
    for (const [key, id, topic, valid] of shuffled(variants, random)) {
      const { ms, cpuUs, ok } = await feeder.pump(nodes[id], valid, { topic });
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

/** mulberry32: the same order of rounds in every run. */
function seededRandom(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A copy of `items` in random order (Fisher-Yates). */
function shuffled(items, random) {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

const rate = (key) => Math.round(median(perRound[key]));
const cpu = (key) => round(median(cpuPerRound[key]));
// The ratio of each round to the change node's in the same round, then the median: the machine's
// speed can shift between rounds (see the note on threads above), far less within one.
const pairedRatio = (perKey, key, baselineKey) => round(median(perKey[key].map((value, r) => value / perKey[baselineKey][r])), 4);
/** Each figure: its name, the variant measured, and the variant it is measured against. */
const comparisons = [
  ['status', 'status', 'change'],
  ['status_no_topic', 'status_no_topic', 'change_no_topic'],
  ['status_expose_token', 'status_expose_token', 'change_setting_token'],
  ['status_expose_token_vs_no_rules', 'status_expose_token', 'change'],
  ['change_setting_token', 'change_setting_token', 'change'],
];
const byFigure = (measure) => Object.fromEntries(comparisons.map(([name, key]) => [name, measure(key)]));
const byBaseline = (measure) => Object.fromEntries(comparisons.map(([name, , baselineKey]) => [name, measure(baselineKey)]));
const result = emit({
  name: 'status-throughput',
  figures: { msgs_per_s: byFigure(rate), cpu_us_per_msg: byFigure(cpu) },
  baseline: { msgs_per_s: byBaseline(rate), cpu_us_per_msg: byBaseline(cpu) },
  ratio: Object.fromEntries(
    comparisons.flatMap(([name, key, baselineKey]) => [
      [`msgs_per_s.${name}`, pairedRatio(perRound, key, baselineKey)],
      [`cpu_us_per_msg.${name}`, pairedRatio(cpuPerRound, key, baselineKey)],
    ]),
  ),
  params: {
    node_red: RED.version(),
    messages_per_round: messagesPerRound,
    order_seed: SEED,
    rounds,
    burst,
    rounds_msgs_per_s: Object.fromEntries(Object.entries(perRound).map(([k, v]) => [k, v.map((x) => Math.round(x))])),
    rounds_cpu_us_per_msg: Object.fromEntries(Object.entries(cpuPerRound).map(([k, v]) => [k, v.map((x) => round(x))])),
  },
  checks,
  notes: [
    'baselines, same sink and runtime, rounds interleaved; messages shaped as a default inject node\'s (payload, topic) unless named no_topic: status against a core change node with no rules; status_no_topic the same with messages without topic (the status node then adds a property to each); status_expose_token against a change node setting msg.access_token and msg.headers.Authorization (what a flow does without exposeToken), and _vs_no_rules against the rule-less change node; change_setting_token against the rule-less change node (the cost of that work itself)',
    'figures: median round of BENCH_ROUNDS; ratio: median over rounds of the node / its baseline in the same turn',
    'each message goes feed -> node -> sink through Node-RED routing',
  ],
});
exitOnFailedChecks(result.checks ?? {});
process.exit(process.exitCode ?? 0);
