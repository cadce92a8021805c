// Issue 13: messages per second through `account-link-request` (the linked account's token added
// inside the engine) against the core `http request` node with a fixed `Authorization` header, both
// calling the same loopback API server, in one embedded Node-RED runtime (this package loaded from
// <userDir>/node_modules like an install). The link is pre-seeded (TokenStore before Node-RED
// starts) with an access token valid for an hour, so no provider is ever asked (the token endpoint
// is a closed loopback port); the server checks every request's token.
//
// Each node is fed by node.receive() in bursts of BENCH_BURST messages (so that many requests are in
// flight) and wired to a sink node that counts; a round is BENCH_MESSAGES messages; the two nodes take
// turns over BENCH_ROUNDS rounds after one warm-up round, and the median round is reported: wall-clock
// messages per second, and CPU time of this process (Node-RED and the server) per message. The core
// node keeps its connections alive (`persist`), as the request node's undici pool does.
//
// Run: npm run build && node bench/request-throughput.mjs
// Env: BENCH_MESSAGES (1000), BENCH_ROUNDS (7), BENCH_BURST (50).
import { createServer } from 'node:http';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { linkedRecord, loadCore, tempDir } from './lib/core.mjs';
import { emit, exitOnFailedChecks } from './lib/report.mjs';
import { median, round } from './lib/stats.mjs';
import { initBenchNodeRed, nodeRedFeeder } from './lib/node-red-feed.mjs';

const messagesPerRound = Number(process.env.BENCH_MESSAGES ?? 1_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const burst = Number(process.env.BENCH_BURST ?? 50);
const ACCOUNT_ID = 'bench-acct';

const core = loadCore();
const { dir: userDir, cleanup } = tempDir('request-throughput');

const record = linkedRecord({ expiresAt: Date.now() + 3600_000, index: 0 });
const store = await core.TokenStore.open(path.join(userDir, 'account-link'));
await store.write(ACCOUNT_ID, record);
const expectedAuthorization = `Bearer ${record.tokens.accessToken}`;

// The API both nodes call: a small JSON answer, and a count of requests without the right token.
let served = 0;
let wrongToken = 0;
const body = JSON.stringify({ id: 'user-0', display_name: 'Bench user', product: 'premium' });
const api = createServer((req, res) => {
  served++;
  if (req.headers.authorization !== expectedAuthorization) wrongToken++;
  req.resume();
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
});
await new Promise((resolve) => api.listen(0, '127.0.0.1', resolve));
const apiHost = `127.0.0.1:${api.address().port}`;
const apiUrl = `http://${apiHost}/v1/me`;

const { RED, server } = initBenchNodeRed({
  userDir,
  accountId: ACCOUNT_ID,
  slug: 'bench-request',
  nodes: [
    { id: 'request', type: 'account-link-request', account: ACCOUNT_ID, method: 'GET', url: apiUrl, ret: 'obj', allowedHosts: apiHost, queueLimit: 100 },
    {
      id: 'core',
      type: 'http request',
      method: 'GET',
      ret: 'obj',
      paytoqs: 'ignore',
      url: apiUrl,
      persist: true,
      authType: '',
      senderr: false,
      headers: [{ keyType: 'other', keyValue: 'Authorization', valueType: 'other', valueValue: expectedAuthorization }],
    },
  ],
});

const feeder = nodeRedFeeder({ messagesPerRound, burst, timeoutMs: 30_000 });

const checks = {};
const perRound = { core: [], request: [] };
const cpuPerRound = { core: [], request: [] };
const valid = (msg) => msg.statusCode === 200 && msg.payload?.id === 'user-0' && msg.payload?.bench === undefined;

try {
  await RED.start();
  const nodes = await feeder.waitForNodes(RED, ['request', 'core', 'sink']);
  const link = await RED.nodes.getNode(ACCOUNT_ID).ready;
  checks.seeded_link_is_linked = link.snapshot().state === 'linked';

  for (let r = 0; r <= rounds; r++) {
    for (const key of r % 2 === 0 ? ['core', 'request'] : ['request', 'core']) {
      const { ms, cpuUs, ok } = await feeder.pump(nodes[key], valid);
      if (r === 0) continue; // warm-up: JIT, connection pools
      perRound[key].push((messagesPerRound / ms) * 1000);
      cpuPerRound[key].push(cpuUs / messagesPerRound);
      checks[`${key}_every_answer_arrived`] = (checks[`${key}_every_answer_arrived`] ?? true) && ok;
    }
  }
  checks.every_request_carried_the_link_token = wrongToken === 0 && served === 2 * (rounds + 1) * messagesPerRound;
  checks.no_token_endpoint_call = (await link.accessToken()) === record.tokens.accessToken;
} finally {
  await RED.stop().catch(() => undefined);
  server.close();
  api.close();
  cleanup();
}

const rate = (key) => Math.round(median(perRound[key]));
const cpu = (key) => round(median(cpuPerRound[key]));
checks.msgs_per_s_ratio_at_least_0_9 = rate('request') >= 0.9 * rate('core');
emit({
  name: 'request-throughput',
  figures: { msgs_per_s: rate('request'), cpu_us_per_msg: cpu('request') },
  baseline: { msgs_per_s: rate('core'), cpu_us_per_msg: cpu('core') },
  params: {
    node_red: RED.version(),
    messages_per_round: messagesPerRound,
    rounds,
    burst,
    rounds_msgs_per_s: Object.fromEntries(Object.entries(perRound).map(([k, v]) => [k, v.map((x) => Math.round(x))])),
  },
  checks,
  notes: [
    'baseline: core http request with a fixed Authorization header (persist on), same loopback server, same runtime, rounds interleaved',
    'ratio msgs_per_s >= 0.9 is the target (issue 13)',
  ],
});
exitOnFailedChecks(checks);
process.exit(process.exitCode ?? 0);
