// Keeps the one figures table of bench/README.md current: bench/run.mjs hands it each run's document;
// the latest ok result of every bench is kept in bench/results.json (a run of some benches updates
// only theirs), and the table between the markers in bench/README.md is written again from it.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const BEGIN = '<!-- bench-table:begin (written by `npm run bench`; edit bench/lib/readme-table.mjs instead) -->';
export const END = '<!-- bench-table:end -->';

/**
 * What each bench measures and what its baseline is, for the table. A bench not listed here gets its
 * first note; its reproduce command is always `node bench/<file>` after `npm run build`.
 * @type {Record<string, { what: string, baseline: string }>}
 */
const ABOUT = {
  'core-many-links': { what: '1,000 linked Links in one process', baseline: 'none' },
  'core-single-flight': {
    what: '1,000 concurrent `accessToken()` on a just-expired token',
    baseline: '1,000 openid-client refreshes with one rotating refresh token',
  },
  'device-flow-latency': {
    what: 'device flow: approval → `linked`, per poll interval (oidc-provider)',
    baseline: 'the poll interval (ratio = latency / interval)',
  },
  'install-size': {
    what: '`npm pack` tarball and `npm install --omit=dev` of it',
    baseline: 'spotify-web-api-node installed the same way (what node-red-contrib-spotify wraps)',
  },
  mqtt: { what: 'MQTT publisher on loopback mosquitto', baseline: 'none' },
  pairing: { what: 'pairing page: provider callback → `linked`, 100 links', baseline: 'none' },
  'request-throughput': {
    what: '`account-link-request` msgs/s in embedded Node-RED, loopback API server',
    baseline: 'core `http request` with a fixed Authorization header (keep-alive), same server and runtime',
  },
  'require-time': {
    what: 'fresh `node -e "require(file)"` per node file, median',
    baseline: 'bare `node -e ""` process',
  },
  'status-throughput': {
    what: '`account-link-status` msgs/s in embedded Node-RED, cached token',
    baseline: 'core `change` node, same runtime and messages: with no rules, or setting the same token properties (status_expose_token)',
  },
};

const STAT_KEYS = ['min', 'p50', 'p90', 'p99', 'max', 'mean'];

/** Merges the run into bench/results.json and rewrites the README table; returns the README path. */
export function updateReadme(document, benchDir) {
  const resultsPath = path.join(benchDir, 'results.json');
  const readmePath = path.join(benchDir, 'README.md');
  const stored = existsSync(resultsPath) ? JSON.parse(readFileSync(resultsPath, 'utf8')) : { benches: {} };
  for (const bench of document.benches) {
    const previous = stored.benches[bench.name];
    if (bench.status === 'ok') {
      stored.benches[bench.name] = {
        file: bench.file,
        measured_at: document.generated_at,
        environment: document.environment,
        status: 'ok',
        duration_ms: bench.duration_ms,
        figures: bench.figures,
        baseline: bench.baseline,
        ratio: bench.ratio,
        ...(bench.params ? { params: bench.params } : {}),
        ...(bench.notes ? { notes: bench.notes } : {}),
      };
    } else if (previous) {
      // Keep the last good figures, but say that the latest run did not produce new ones.
      stored.benches[bench.name] = { ...previous, latest: { status: bench.status, reason: bench.reason, at: document.generated_at } };
    } else {
      stored.benches[bench.name] = { file: bench.file, status: bench.status, reason: bench.reason, measured_at: document.generated_at };
    }
  }
  writeFileSync(resultsPath, `${JSON.stringify(stored, null, 2)}\n`);

  const readme = readFileSync(readmePath, 'utf8');
  const begin = readme.indexOf(BEGIN);
  const end = readme.indexOf(END);
  if (begin < 0 || end < begin) throw new Error(`${readmePath} has no table markers`);
  const table = renderTable(stored);
  writeFileSync(readmePath, `${readme.slice(0, begin + BEGIN.length)}\n${table}\n${readme.slice(end)}`);
  return readmePath;
}

/** The markdown table: one block of rows per bench, sorted by name. */
export function renderTable(stored) {
  const lines = [
    '| bench: what (reproduce) | figure | value | baseline | ratio |',
    '|---|---|---|---|---|',
  ];
  const environments = new Set();
  for (const name of Object.keys(stored.benches).sort()) {
    const bench = stored.benches[name];
    const about = ABOUT[name];
    const head = `**${name}**: ${about?.what ?? bench.notes?.[0] ?? ''} (\`node ${bench.file}\`)`;
    if (bench.status !== 'ok') {
      lines.push(`| ${head} | — | ${bench.status}: ${escapeCell(bench.reason ?? '')} | | |`);
      continue;
    }
    const env = bench.environment;
    if (env) environments.add(`Node ${env.node}, ${env.cpus} × ${env.cpu_model}, ${env.memory_mib} MiB`);
    const rows = figureRows(bench.figures, bench.baseline ?? {}, bench.ratio ?? {});
    const baselineNote = about?.baseline && about.baseline !== 'none' ? ` — baseline: ${about.baseline}` : '';
    const stale = bench.latest ? ` — latest run ${bench.latest.status}, figures of ${bench.measured_at.slice(0, 10)}` : '';
    rows.forEach((row, index) => {
      const first = index === 0 ? `${head}${baselineNote}${stale}` : '';
      lines.push(`| ${first} | ${row.figure} | ${row.value} | ${row.baseline} | ${row.ratio} |`);
    });
  }
  const measured = Object.values(stored.benches)
    .map((b) => b.measured_at)
    .filter(Boolean)
    .sort();
  lines.push('');
  lines.push(
    `Measured ${measured[0]?.slice(0, 10) ?? '?'}${measured.length > 1 && measured.at(-1).slice(0, 10) !== measured[0].slice(0, 10) ? ` to ${measured.at(-1).slice(0, 10)}` : ''}` +
      ` on ${[...environments].join('; ') || 'an unknown machine'}. Ratio = value / baseline. Every value with its parameters: \`bench/results.json\`.`,
  );
  return lines.join('\n');
}

/** Rows for a figures object: nested keys dotted, a percentile set (min/p50/…) on one row. */
function figureRows(figures, baseline, ratio, prefix = '') {
  const rows = [];
  for (const [key, value] of Object.entries(figures ?? {})) {
    const name = prefix ? `${prefix}.${key}` : key;
    if (key === 'n') continue;
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const stats = STAT_KEYS.filter((k) => k in value);
      if (stats.length >= 2 && Object.keys(value).every((k) => k === 'n' || STAT_KEYS.includes(k))) {
        const pick = (source) => {
          const parts = stats.map((k) => (source && typeof source === 'object' ? source[k] : undefined));
          return parts.every((p) => p === undefined) ? '' : parts.map(format).join(' / ');
        };
        rows.push({
          figure: `${name} (${stats.join(' / ')})`,
          value: pick(value),
          baseline: pick(baseline?.[key]),
          ratio: stats.some((k) => ratio[`${name}.${k}`] !== undefined) ? stats.map((k) => format(ratio[`${name}.${k}`])).join(' / ') : '',
        });
      } else {
        rows.push(...figureRows(value, baseline?.[key] ?? {}, ratio, name));
      }
      continue;
    }
    rows.push({
      figure: name,
      value: format(value),
      baseline: baseline && key in baseline ? format(baseline[key]) : '',
      ratio: ratio[name] !== undefined ? format(ratio[name]) : '',
    });
  }
  return rows;
}

function format(value) {
  if (value === undefined || value === null) return '—';
  if (typeof value === 'number') {
    const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 1 ? 2 : 4;
    return value.toLocaleString('en-US', { maximumFractionDigits: digits });
  }
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return escapeCell(String(value));
}

function escapeCell(text) {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
