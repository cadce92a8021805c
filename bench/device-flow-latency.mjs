// Device flow: how long from the person's approval (the provider's consent page answered "Sign-in
// Success") to the Link emitting `linked`, against the poll interval the provider asked for.
// A device-flow client only learns of the approval at its next poll, so the wait should spread
// evenly over one interval (mean about half of it), plus the token exchange, the account read and
// the encrypted store write.
//
// The provider is a real authorization server (oidc-provider, demo/sign-in-server.ts, in this
// process the bench starts). oidc-provider sends no `interval` (clients then use RFC 8628's 5 s); a loopback proxy in
// front of its device authorization endpoint adds `interval: N` so other intervals can be measured.
// For each interval, BENCH_LINKS links start at once; each waits a random 1 to 3 intervals after its
// code is shown (so it has polled and heard `authorization_pending` before), then approves through
// the provider's own pages.
//
// Run: npm run build && node bench/device-flow-latency.mjs
// Env: BENCH_INTERVALS (seconds, comma-separated: 1,2,5), BENCH_LINKS (links per interval: 12).
import { fork } from 'node:child_process';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { fetch } from 'undici';
import { loadCore, root, tempDir } from './lib/core.mjs';
import { emit, exitOnFailedChecks } from './lib/report.mjs';
import { round, summarize } from './lib/stats.mjs';

const intervals = (process.env.BENCH_INTERVALS ?? '1,2,5').split(',').map(Number).filter((s) => s > 0);
const linksPerInterval = Number(process.env.BENCH_LINKS ?? 12);
/** A poll answer, the account read and the store write take a few ms on loopback; more is a missed poll. */
const SLACK_MS = 750;

if (process.argv[2] === '--provider') await serveProvider();

const core = loadCore();
// The provider runs in its own process, so its page rendering during approvals does not hold up the
// event loop of the Links being measured.
const provider = await spawnProvider();
const proxy = await startIntervalProxy(provider.endpoints.deviceAuthorization);
const { dir, cleanup } = tempDir('device-latency');

const figures = { latency_ms: {}, latency_per_interval: {}, polls_per_link: {} };
const baseline = { latency_ms: {} };
const params = {
  intervals_s: intervals,
  links_per_interval: linksPerInterval,
  approval_ms: {},
  load_average_1m_at_start: round(os.loadavg()[0]),
};
const checks = {};
try {
  const store = await core.TokenStore.open(dir);
  for (const seconds of intervals) {
    const intervalMs = seconds * 1000;
    const pollsBefore = await provider.polls();
    const samples = await Promise.all(
      Array.from({ length: linksPerInterval }, (_, i) => approveOne(store, `dfl-${seconds}s-${i}`, seconds)),
    );
    const key = `i${seconds}s`;
    const latencies = samples.map((s) => s.latencyMs);
    const stats = summarize(latencies);
    figures.latency_ms[key] = { p50: stats.p50, p90: stats.p90, max: stats.max, mean: stats.mean };
    figures.latency_per_interval[key] = { mean: round(stats.mean / intervalMs, 3), max: round(stats.max / intervalMs, 3) };
    figures.polls_per_link[key] = round(((await provider.polls()) - pollsBefore) / linksPerInterval, 2);
    baseline.latency_ms[key] = { p50: intervalMs, p90: intervalMs, max: intervalMs, mean: intervalMs };
    params.approval_ms[key] = summarize(samples.map((s) => s.approvalMs)).p50;
    checks[`${key}_every_link_linked_as_alice`] = samples.every((s) => s.linkedAs === 'Alice');
    checks[`${key}_no_wait_beyond_one_interval`] = stats.max <= intervalMs + SLACK_MS;
  }
} finally {
  await proxy.close();
  await provider.close();
  cleanup();
}

const result = emit({
  name: 'device-flow-latency',
  figures,
  baseline,
  params,
  checks,
  notes: [
    'baseline: the poll interval itself, so ratio = latency / interval (even spread: mean ~0.5, max <= 1)',
    'latency: from the approval page answering to the `linked` event (token exchange, userinfo, store write included)',
    'the proxy adds `interval` to the device authorization response; oidc-provider sends none',
  ],
});
exitOnFailedChecks(result.checks ?? {});
process.exit(process.exitCode ?? 0);

/**
 * Links one account: start, wait 1-3 intervals, approve, time until `linked`.
 * @param {import('../src/core/store.js').TokenStore} store
 */
async function approveOne(store, slug, seconds) {
  const link = new core.Link({
    id: slug,
    slug,
    store,
    settings: {
      provider: 'oidc',
      issuer: provider.issuer,
      clientId: provider.clientId,
      scope: 'openid profile offline_access',
      flow: 'device',
      deviceAuthorizationEndpoint: `${proxy.url}/interval/${seconds}`,
    },
  });
  try {
    await link.load();
    const linked = new Promise((resolve) =>
      link.on('event', (event) => event.event_type === 'linked' && resolve(performance.now())),
    );
    const { pending, finished } = await link.start();
    finished.catch(() => undefined);
    // After at least one `authorization_pending` poll, at a random point of the poll cycle.
    await new Promise((resolve) => setTimeout(resolve, (1 + 2 * Math.random()) * seconds * 1000));
    const approving = performance.now();
    await provider.approveDevice(pending.user_code, { accountId: 'alice' });
    const approved = performance.now();
    const linkedAt = await linked;
    const final = await finished;
    return { latencyMs: linkedAt - approved, approvalMs: approved - approving, linkedAs: final.account?.name };
  } finally {
    await link.close();
  }
}

/** Forwards device authorization requests to `target`, adding `interval` (seconds) from the path. */
async function startIntervalProxy(target) {
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', async () => {
      try {
        const seconds = Number(/^\/interval\/(\d+)$/.exec(req.url ?? '')?.[1]);
        const headers = {};
        for (const name of ['content-type', 'accept', 'authorization']) {
          if (req.headers[name]) headers[name] = String(req.headers[name]);
        }
        const answer = await fetch(target, { method: req.method, headers, body: Buffer.concat(chunks) });
        const body = await answer.json();
        if (answer.ok && seconds > 0) body.interval = seconds;
        res.writeHead(answer.status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
        res.end(JSON.stringify(body));
      } catch (err) {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'server_error', error_description: String(err) }));
      }
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The test provider in a child process: approvals and poll counts over IPC. */
async function spawnProvider() {
  const child = fork(fileURLToPath(import.meta.url), ['--provider'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  let nextId = 0;
  const waiting = new Map();
  child.on('message', (message) => {
    const pending = waiting.get(message.id);
    waiting.delete(message.id);
    if (message.error) pending?.reject(new Error(message.error));
    else pending?.resolve(message.value);
  });
  child.on('exit', (code) => {
    for (const pending of waiting.values()) pending.reject(new Error(`provider process exited (${code})`));
  });
  const ask = (request) =>
    new Promise((resolve, reject) => {
      const id = nextId++;
      waiting.set(id, { resolve, reject });
      child.send({ id, ...request });
    });
  const info = await ask({ type: 'info' });
  return {
    ...info,
    approveDevice: (userCode, options) => ask({ type: 'approve', userCode, options }),
    polls: () => ask({ type: 'polls' }),
    close: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.disconnect();
      await exited;
    },
  };
}

/** Child side: starts the provider and answers the parent. */
async function serveProvider() {
  const requireBuilt = createRequire(import.meta.url);
  // The stand-in provider is the tests' (TypeScript) helper; load it as CommonJS through tsx.
  requireBuilt('tsx/cjs/api').register();
  /** @type {typeof import('../demo/sign-in-server.js')} */
  const { startTestProvider, DEVICE_CODE_GRANT } = requireBuilt(path.join(root, 'demo/sign-in-server.ts'));
  const provider = await startTestProvider({ accessTokenTtl: 3600 });
  process.on('disconnect', () => provider.close().finally(() => process.exit(0)));
  process.on('message', async (message) => {
    try {
      let value;
      if (message.type === 'info') value = { issuer: provider.issuer, clientId: provider.clientId, endpoints: provider.endpoints };
      else if (message.type === 'polls') value = provider.count(DEVICE_CODE_GRANT);
      else if (message.type === 'approve') value = await provider.approveDevice(message.userCode, message.options);
      process.send?.({ id: message.id, value: value ?? null });
    } catch (err) {
      process.send?.({ id: message.id, error: err instanceof Error ? err.message : String(err) });
    }
  });
  await new Promise(() => undefined);
}
