// Runs every benchmark in bench/ (each *.mjs but this one) in its own Node process, so memory
// figures of one do not leak into another, and prints one JSON document with all their figures
// and, where a bench names a baseline, the ratio of each figure to it.
//
// Run: npm run bench   (builds first)   or   node bench/run.mjs [name-filter ...]
//
// A bench prints one JSON object on stdout: {name, figures, baseline?, ratio?, params?, checks?, notes?}.
// It reports itself skipped (needs a binary that is absent, ...) by printing {name, skipped: "why"}
// and exiting 0. A non-zero exit, a timeout or unreadable output marks it failed; run.mjs then
// still prints the whole document, and exits 1.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { updateReadme } from './lib/readme-table.mjs';
import { normalize } from './lib/report.mjs';
import { flatten, round } from './lib/stats.mjs';

const benchDir = path.dirname(fileURLToPath(import.meta.url));
const self = path.basename(fileURLToPath(import.meta.url));
const TIMEOUT_MS = Number(process.env.BENCH_TIMEOUT_MS ?? 180_000);
const STDERR_TAIL_CHARS = 2000;

const filters = process.argv.slice(2);
const files = readdirSync(benchDir)
  .filter((file) => file.endsWith('.mjs') && file !== self)
  .filter((file) => filters.length === 0 || filters.some((filter) => file.includes(filter)))
  .sort();

/** The bench running now, so Ctrl-C also stops it (it runs in its own process group). */
let current = null;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    if (current) killGroup(current);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    child.kill('SIGKILL');
  }
}

/**
 * The Node flags a bench asks for in a line of its own, `// Node flags: --flag ...` (besides
 * --expose-gc, which every bench gets).
 * @param {string} file
 */
function nodeFlags(file) {
  const line = readFileSync(path.join(benchDir, file), 'utf8').match(/^\/\/ Node flags: (.+)$/m);
  return line ? line[1].trim().split(/\s+/) : [];
}

/**
 * Runs one bench file with --expose-gc and its own flags; resolves with its exit code, stdout, and the tail of its stderr.
 * @param {string} file
 */
function runChild(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--expose-gc', ...nodeFlags(file), path.join(benchDir, file)], {
      cwd: path.dirname(benchDir),
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group, so a timeout also ends whatever the bench started (servers, brokers).
      detached: true,
    });
    current = child;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr = (stderr + chunk).slice(-STDERR_TAIL_CHARS);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      resolve({ code, signal, timedOut, stdout, stderr });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      current = null;
      resolve({ code: null, signal: null, timedOut, stdout, stderr: `${stderr}\n${err.message}` });
    });
  });
}

/** The bench's JSON object: all of stdout, or else the last line that parses as an object. */
function parseResult(stdout) {
  const candidates = [stdout.trim(), ...stdout.trim().split('\n').reverse()];
  for (const text of candidates) {
    if (!text.trim().startsWith('{')) continue;
    try {
      const value = JSON.parse(text);
      if (value && typeof value === 'object' && !Array.isArray(value)) return value;
    } catch {
      // not this one
    }
  }
  return null;
}

function lastLines(text, count = 5) {
  return text.trim().split('\n').slice(-count).join('\n');
}

const benches = [];
let failures = 0;
for (const file of files) {
  process.stderr.write(`bench: ${file} ...\n`);
  const started = performance.now();
  const run = await runChild(file);
  const durationMs = round(performance.now() - started, 0);
  const result = parseResult(run.stdout);
  const entry = { name: result?.name ?? path.basename(file, '.mjs'), file: `bench/${file}`, duration_ms: durationMs };

  if (run.timedOut) {
    benches.push({ ...entry, status: 'failed', reason: `timed out after ${TIMEOUT_MS} ms`, ...(result ? { result } : {}) });
  } else if (result && typeof result.skipped === 'string') {
    benches.push({ ...entry, status: 'skipped', reason: result.skipped });
  } else if (run.code !== 0 || !result || typeof result.figures !== 'object') {
    const why =
      run.code !== 0
        ? `exit ${run.code ?? run.signal}${run.stderr.trim() ? `: ${lastLines(run.stderr)}` : ''}`
        : 'printed no JSON object with "figures"';
    benches.push({ ...entry, status: 'failed', reason: why, ...(result ? { result } : {}) });
  } else {
    const { name: _name, ...normalized } = normalize(result);
    benches.push({ ...entry, status: 'ok', ...normalized });
  }
  const last = benches[benches.length - 1];
  if (last.status === 'failed') failures++;
  process.stderr.write(`bench: ${file} ${last.status}${last.reason ? ` (${last.reason.split('\n')[0]})` : ''}\n`);
}

// Every figure of every bench on one line each: value, and the baseline and ratio where there is one.
const table = {};
for (const bench of benches.filter((b) => b.status === 'ok')) {
  const baseline = flatten(bench.baseline);
  const ratio = bench.ratio;
  for (const [key, value] of Object.entries(flatten(bench.figures))) {
    if (key === 'n' || key.endsWith('.n')) continue;
    table[`${bench.name}.${key}`] = {
      value,
      ...(key in baseline ? { baseline: baseline[key] } : {}),
      ...(key in ratio ? { ratio: ratio[key] } : {}),
    };
  }
}

const document = {
  generated_at: new Date().toISOString(),
  environment: {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? null,
    memory_mib: Math.round(os.totalmem() / 1024 / 1024),
  },
  summary: {
    ok: benches.filter((b) => b.status === 'ok').length,
    skipped: benches.filter((b) => b.status === 'skipped').length,
    failed: failures,
  },
  figures: table,
  benches,
};
process.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
// The figures table of bench/README.md (and bench/results.json), unless BENCH_README=0.
if (process.env.BENCH_README !== '0') {
  const readme = updateReadme(document, benchDir);
  process.stderr.write(`bench: figures table written to ${path.relative(process.cwd(), readme)}\n`);
}
if (failures > 0) process.exitCode = 1;
