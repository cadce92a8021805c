// Issue 2, benchmark 1: a thousand callers ask a linked Link for its access token the moment it has
// expired. The engine must send exactly one refresh to the token endpoint (exit code 1 otherwise);
// we report how long the callers waited. Baseline: a naive client that refreshes once per caller.
//
// Run: npm run build && node bench/core-single-flight.mjs
// Env: BENCH_CALLERS (1000), BENCH_ROUNDS (5), BENCH_TOKEN_LATENCY_MS (0: the provider's answer delay).
import { performance } from 'node:perf_hooks';
import * as oauth from 'openid-client';
import { benchSettings, linkId, linkedRecord, loadCore, tempDir } from './lib/core.mjs';
import { emit, exitOnFailedChecks } from './lib/report.mjs';
import { summarize } from './lib/stats.mjs';
import { spawnTokenServer } from './lib/token-server.mjs';

const callers = Number(process.env.BENCH_CALLERS ?? 1000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const latencyMs = Number(process.env.BENCH_TOKEN_LATENCY_MS ?? 0);

const core = loadCore();
// The provider lives in its own process, as a real one would: its work does not delay our callers.
const server = await spawnTokenServer({ latencyMs });
const { dir, cleanup } = tempDir('single-flight');

/** Starts `count` calls of `call` in one synchronous burst; resolves with each caller's wait in ms. */
async function burst(count, call) {
  const waits = new Array(count);
  const outcomes = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    outcomes.push(
      call().then(
        (value) => {
          waits[i] = performance.now() - started;
          return { ok: true, value };
        },
        (error) => {
          waits[i] = performance.now() - started;
          return { ok: false, error };
        },
      ),
    );
  }
  return { waits, outcomes: await Promise.all(outcomes) };
}

try {
  const store = await core.TokenStore.open(dir);
  const settings = benchSettings(server.tokenEndpoint);

  // The engine: each round a fresh linked link whose access token expired a second ago.
  const engineWaits = [];
  const callsPerRound = [];
  let refused = 0;
  let allGotOneNewToken = true;
  let rotatedTokenOnDisk = true;
  for (let round = 0; round < rounds; round++) {
    const id = linkId(round);
    const record = linkedRecord({ expiresAt: Date.now() - 1000, index: round });
    await store.write(id, record);
    const link = new core.Link({ id, slug: id, settings, store });
    const loaded = await link.load();
    if (loaded.state !== 'linked') throw new Error(`bench link loaded as ${loaded.state}`);

    const before = (await server.stats()).calls;
    const { waits, outcomes } = await burst(callers, () => link.accessToken());
    callsPerRound.push((await server.stats()).calls - before);
    engineWaits.push(...waits);

    refused += outcomes.filter((o) => !o.ok).length;
    const tokens = new Set(outcomes.filter((o) => o.ok).map((o) => o.value));
    allGotOneNewToken &&= tokens.size === 1 && !tokens.has(record.tokens.accessToken);
    const onDisk = await store.read(id);
    rotatedTokenOnDisk &&= Boolean(onDisk && onDisk.tokens.refreshToken !== record.tokens.refreshToken);
    await link.close();
  }

  // The baseline: the same HTTP stack, but every caller refreshes for itself with the one refresh token.
  const provider = await core.resolveProvider(settings, core.createProviderFetch({}, core.systemClock));
  const seed = linkedRecord({ expiresAt: Date.now() - 1000, index: rounds }).tokens.refreshToken;
  const naiveBefore = (await server.stats()).calls;
  const naive = await burst(callers, () => oauth.refreshTokenGrant(provider.config, seed));
  const naiveCalls = (await server.stats()).calls - naiveBefore;
  const naiveRefused = naive.outcomes.filter((o) => !o.ok).length;

  const checks = {
    one_endpoint_call_per_round: callsPerRound.every((calls) => calls === 1),
    every_caller_served: refused === 0,
    all_callers_got_the_same_new_token: allGotOneNewToken,
    rotated_refresh_token_saved: rotatedTokenOnDisk,
  };
  emit({
    name: 'core-single-flight',
    params: { callers, rounds, token_latency_ms: latencyMs },
    figures: {
      token_endpoint_calls: Math.max(...callsPerRound),
      callers_refused: refused,
      wait_ms: summarize(engineWaits),
    },
    baseline: {
      token_endpoint_calls: naiveCalls,
      callers_refused: naiveRefused,
      wait_ms: summarize(naive.waits),
    },
    checks,
    notes: [
      'token_endpoint_calls: most refreshes sent in any one round (the engine must send 1 per burst of callers).',
      'wait_ms: each caller from its accessToken() call to the token, pooled over all rounds; includes the ' +
        'refresh round trip and the fsync of the rotated refresh token before anyone gets the new access token.',
      'baseline: one refreshTokenGrant per caller with the same refresh token; the server rotates, so all but ' +
        'one are refused (invalid_grant), which is what a real rotating provider does.',
    ],
  });
  exitOnFailedChecks(checks);
} finally {
  await server.close();
  cleanup();
}
