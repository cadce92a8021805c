// Issue 2, benchmark 2: a thousand linked Links in one process. Reports memory per link (heap and
// RSS growth / links, after gc), timers per link, and the time to load them all from their files.
//
// Run: npm run build && node bench/core-many-links.mjs
// Env: BENCH_LINKS (1000).
//
// The store files are written by this process; the measuring happens in a child started with
// --expose-gc, so nothing the setup allocated is in its memory figures. The token server used for
// the refresh phase runs in a third process for the same reason.
import { spawn } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { benchSettings, countingClock, linkId, linkedRecord, loadCore, tempDir } from './lib/core.mjs';
import { emit, exitOnFailedChecks } from './lib/report.mjs';
import { round } from './lib/stats.mjs';
import { spawnTokenServer } from './lib/token-server.mjs';

const linkCount = Number(process.env.BENCH_LINKS ?? 1000);
/**
 * Refreshes in flight at once. Kept small, as links refresh at scattered times in real use: a
 * thousand at once would leave a thousand pooled sockets in the memory figures.
 */
const REFRESH_CONCURRENCY = 8;
/** One more link than measured: the child warms the code paths on it before its baseline. */
const WARMUP_INDEX = linkCount;

if (process.argv[2] === '--measure') await measure(process.argv[3]);
else await setupAndMeasure();

async function setupAndMeasure() {
  const core = loadCore();
  const { dir, cleanup } = tempDir('many-links');
  try {
    const store = await core.TokenStore.open(dir);
    // Tokens obtained 10 minutes ago: a refresh asked for within 10 s of the last one makes no call.
    const expiresAt = Date.now() + 50 * 60_000;
    for (let start = 0; start <= linkCount; start += 100) {
      const batch = [];
      for (let index = start; index < Math.min(start + 100, linkCount + 1); index++) {
        batch.push(store.write(linkId(index), linkedRecord({ expiresAt, index })));
      }
      await Promise.all(batch);
    }
    const child = spawn(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), '--measure', dir], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    process.exitCode = await new Promise((resolve) => child.on('exit', (code) => resolve(code ?? 1)));
  } finally {
    cleanup();
  }
}

/** Like Promise.all(items.map(task)), with at most `limit` tasks running at once. */
async function mapLimited(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Memory after the garbage collector has had every chance to run. */
async function settledMemory() {
  for (let i = 0; i < 4; i++) {
    globalThis.gc?.();
    await nextTurn();
  }
  const { heapUsed, rss, external, arrayBuffers } = process.memoryUsage();
  return { heapUsed, rss, external: external + arrayBuffers };
}

function perLinkKiB(after, before) {
  return {
    heap: round((after.heapUsed - before.heapUsed) / linkCount / 1024),
    rss: round((after.rss - before.rss) / linkCount / 1024),
    external: round((after.external - before.external) / linkCount / 1024),
  };
}

async function measure(dir) {
  if (typeof globalThis.gc !== 'function') throw new Error('run the measuring child with --expose-gc');
  const core = loadCore();
  const server = await spawnTokenServer();
  const settings = benchSettings(server.tokenEndpoint);
  const clock = countingClock(core.systemClock);
  try {
    // Warm up: JIT, openid-client and the HTTP pool, so the figures below are what each link adds.
    {
      const store = await core.TokenStore.open(dir);
      const id = linkId(WARMUP_INDEX);
      const warm = new core.Link({ id, slug: id, settings, store, clock });
      await warm.load();
      await warm.refresh();
      await warm.close();
    }
    const baseline = await settledMemory();
    const callsBefore = (await server.stats()).calls;

    const loadStarted = performance.now();
    const store = await core.TokenStore.open(dir);
    const links = Array.from({ length: linkCount }, (_, index) => {
      const id = linkId(index);
      return new core.Link({ id, slug: id, settings, store, clock });
    });
    const loaded = await Promise.all(links.map((link) => link.load()));
    const loadMs = performance.now() - loadStarted;
    const allLinked = loaded.every((snapshot) => snapshot.state === 'linked');
    const timersLoaded = clock.pending;
    const systemTimersLoaded = core.systemClock.pending;
    const memoryLoaded = await settledMemory();

    // Each link talks to its provider once: it now also holds a resolved provider configuration.
    const refreshStarted = performance.now();
    const refreshed = await mapLimited(links, REFRESH_CONCURRENCY, (link) => link.refresh());
    const refreshMs = performance.now() - refreshStarted;
    const refreshCalls = (await server.stats()).calls - callsBefore;
    const allRefreshed = refreshed.every((snapshot) => snapshot.state === 'linked' && snapshot.error === null);
    const timersRefreshed = clock.pending;
    const memoryRefreshed = await settledMemory();

    await Promise.all(links.map((link) => link.close()));
    const timersClosed = clock.pending;

    const checks = {
      all_links_loaded_linked: allLinked,
      one_timer_per_link: timersLoaded === linkCount && timersRefreshed === linkCount,
      one_refresh_call_per_link: refreshCalls === linkCount,
      all_links_refreshed: allRefreshed,
      no_timer_left_after_close: timersClosed === 0,
    };
    emit({
      name: 'core-many-links',
      params: { links: linkCount, refresh_concurrency: REFRESH_CONCURRENCY },
      figures: {
        load_all_ms: round(loadMs),
        load_per_link_ms: round(loadMs / linkCount, 4),
        timers_per_link: round(timersLoaded / linkCount, 4),
        system_clock_pending_timers: systemTimersLoaded,
        memory_per_link_kib: perLinkKiB(memoryLoaded, baseline),
        memory_per_refreshed_link_kib: perLinkKiB(memoryRefreshed, baseline),
        refresh_all_ms: round(refreshMs),
        timers_per_link_after_refresh: round(timersRefreshed / linkCount, 4),
        timers_after_close: timersClosed,
        process_rss_mib: round(memoryRefreshed.rss / 1024 / 1024),
      },
      checks,
      notes: [
        'load_all_ms: TokenStore.open + new Link + load() for every link, all at once (as Node-RED starts its ' +
          'config nodes); the files were just written, so they come from the page cache.',
        'memory_per_link_kib: growth after gc from before the links were created, divided by the link count; ' +
          'links loaded but never used (no provider resolved yet).',
        'memory_per_refreshed_link_kib: the same after every link refreshed once (8 at a time, against a ' +
          'loopback token server in another process), so each holds its resolved provider configuration.',
        'timers_per_link: timers pending on the Clock the links were given, divided by the link count.',
      ],
    });
    exitOnFailedChecks(checks);
  } finally {
    await server.close();
  }
}
