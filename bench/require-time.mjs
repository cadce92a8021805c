// How long loading the package costs Node-RED at start-up: each node file the package registers
// (package.json "node-red".nodes), required in a fresh Node process, median of BENCH_RUNS runs.
// Two figures per file: the whole process (spawn to exit, as `node -e "require(file)"`) against a
// bare `node -e ""` (the baseline), and the require() call alone timed inside the process. The engine
// (dist/core) and each runtime dependency are timed the same way, to show where the time goes.
//
// Run: npm run build && node bench/require-time.mjs
// Env: BENCH_RUNS (15).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadCore, root } from './lib/core.mjs';
import { emit, exitOnFailedChecks } from './lib/report.mjs';
import { median, round } from './lib/stats.mjs';

loadCore(); // fails early, with the fix, when dist/ is not built
const runs = Number(process.env.BENCH_RUNS ?? 15);
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

/** name -> what to require (a path relative to the package root, or a dependency name). */
const targets = {
  ...Object.fromEntries(Object.entries(pkg['node-red'].nodes).map(([type, file]) => [type, `./${file}`])),
  engine: './dist/core/index.js',
  ...Object.fromEntries(Object.keys(pkg.dependencies).map((name) => [`dep:${name}`, name])),
};

const script = (specifier) =>
  specifier === null
    ? ''
    : `const t = performance.now(); require(${JSON.stringify(specifier)}); process.stdout.write(String(performance.now() - t));`;

/** One fresh process: wall time from spawn to exit, and the require time it printed. */
function once(specifier) {
  const started = performance.now();
  const run = spawnSync(process.execPath, ['-e', script(specifier)], { cwd: root, encoding: 'utf8' });
  const wallMs = performance.now() - started;
  if (run.status !== 0) throw new Error(`node -e require(${specifier}) failed: ${run.stderr.trim().split('\n').slice(-3).join(' ')}`);
  return { wallMs, requireMs: specifier === null ? 0 : Number(run.stdout) };
}

const medianMs = (values) => round(median(values), 1);

const names = ['bare', ...Object.keys(targets)];
const samples = Object.fromEntries(names.map((name) => [name, { wallMs: [], requireMs: [] }]));
once(null); // warm the page cache
for (const specifier of Object.values(targets)) once(specifier);
for (let run = 0; run < runs; run++) {
  // Take turns, so a burst of load on the machine spreads over every target alike.
  for (const name of names) {
    const sample = once(name === 'bare' ? null : targets[name]);
    samples[name].wallMs.push(sample.wallMs);
    samples[name].requireMs.push(sample.requireMs);
  }
}

const bareWall = medianMs(samples.bare.wallMs);
const figures = { process_ms: {}, require_ms: {} };
const baseline = { process_ms: {} };
for (const name of Object.keys(targets)) {
  figures.process_ms[name] = medianMs(samples[name].wallMs);
  figures.require_ms[name] = medianMs(samples[name].requireMs);
  baseline.process_ms[name] = bareWall;
}
const nodeFiles = Object.keys(pkg['node-red'].nodes);
const checks = Object.fromEntries(nodeFiles.map((name) => [`${name}_requires`, figures.require_ms[name] > 0]));

const result = emit({
  name: 'require-time',
  figures,
  baseline,
  params: { runs, bare_node_process_ms: bareWall, node: process.version, load_average_1m_at_end: round(os.loadavg()[0]) },
  checks,
  notes: [
    'baseline: a bare `node -e ""` process, so process_ms ratio = (start-up + require) / start-up',
    'require_ms: the require() call alone, timed inside the fresh process (what Node-RED pays per file at start)',
    'the two node files share the engine and dependencies; Node-RED loads both, so their costs do not add up',
  ],
});
exitOnFailedChecks(result.checks ?? {});
