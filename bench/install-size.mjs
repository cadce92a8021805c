// What installing the package costs a hub: the tarball (`npm pack`: packed and unpacked size, file
// count) and the production install (`npm install --omit=dev` of that tarball into an empty folder:
// node_modules size and package count), against other packages installed the same way from the npm
// registry (their own size is their folder in node_modules: this registry publishes no unpackedSize). The Spotify node of Node-RED's library (node-red-contrib-spotify, a
// wrapper of spotify-web-api-node) is not on the registry this machine reaches, so the Spotify anchor
// is the library it wraps: a lower bound for that node. node-red-contrib-home-assistant-websocket is
// the second anchor (the HA integration a hub with this package usually also has).
//
// Needs the npm registry; reports itself skipped when it cannot be reached.
// Run: npm run build && node bench/install-size.mjs
// Env: BENCH_ANCHORS (comma-separated package names; the first is the baseline).
import { execFile } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadCore, root, tempDir } from './lib/core.mjs';
import { emit, exitOnFailedChecks } from './lib/report.mjs';
import { round } from './lib/stats.mjs';

const run = promisify(execFile);
const anchors = (process.env.BENCH_ANCHORS ?? 'spotify-web-api-node,node-red-contrib-home-assistant-websocket')
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const npmFlags = ['--no-audit', '--no-fund', '--loglevel=error'];

loadCore(); // fails early, with the fix, when dist/ is not built
const { dir, cleanup } = tempDir('install-size');

/** Apparent size (bytes) and file count of a folder tree; symlinks count as themselves. */
function treeSize(folder) {
  let bytes = 0;
  let files = 0;
  const walk = (current) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const full = path.join(current, entry.name);
      if (entry.isDirectory()) walk(full);
      else {
        bytes += lstatSync(full).size;
        files++;
      }
    }
  };
  if (existsSync(folder)) walk(folder);
  return { bytes, files };
}

/** The five biggest top-level packages in a node_modules folder, in KiB (nested copies count to their parent). */
function largestPackages(modules) {
  const sizes = [];
  for (const entry of readdirSync(modules, { withFileTypes: true })) {
    if (!entry.isDirectory() || entry.name.startsWith('.')) continue;
    const names = entry.name.startsWith('@')
      ? readdirSync(path.join(modules, entry.name)).map((inner) => `${entry.name}/${inner}`)
      : [entry.name];
    for (const name of names) sizes.push([name, round(treeSize(path.join(modules, name)).bytes / 1024, 0)]);
  }
  return Object.fromEntries(sizes.sort((a, b) => b[1] - a[1]).slice(0, 5));
}

/** Installs `spec` (a tarball path or a registry name) for production into a fresh folder. */
async function installed(spec, label) {
  const prefix = path.join(dir, label);
  mkdirSync(prefix, { recursive: true });
  writeFileSync(path.join(prefix, 'package.json'), JSON.stringify({ name: 'size-probe', private: true }));
  await run(npm, ['install', '--omit=dev', '--ignore-scripts', ...npmFlags, spec], { cwd: prefix, maxBuffer: 64 << 20 });
  const { stdout } = await run(npm, ['ls', '--all', '--omit=dev', '--parseable'], { cwd: prefix, maxBuffer: 64 << 20 });
  const packages = stdout.trim().split('\n').filter(Boolean).length - 1; // the probe itself is the first line
  const modules = path.join(prefix, 'node_modules');
  const size = treeSize(modules);
  return { prefix, largest: largestPackages(modules), installed_bytes: size.bytes, installed_files: size.files, installed_packages: packages };
}

const mib = (bytes) => round(bytes / 1024 / 1024);
let result;
try {
  // The tarball, as `npm publish` would make it (dist/ is already built: skip the prepare script).
  const { stdout: packed } = await run(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir, ...npmFlags], {
    cwd: root,
    maxBuffer: 64 << 20,
  });
  const [pack] = JSON.parse(packed);
  const tarball = path.join(dir, pack.filename);

  let ours;
  const anchorFigures = {};
  try {
    ours = await installed(tarball, 'ours');
    for (const name of anchors) {
      // The registry reached here publishes no dist.unpackedSize: measure the installed package folder.
      const probe = await installed(name, `anchor-${name.replace(/[@/]/g, '_')}`);
      const own = treeSize(path.join(probe.prefix, 'node_modules', name));
      const version = JSON.parse(readFileSync(path.join(probe.prefix, 'node_modules', name, 'package.json'), 'utf8')).version;
      anchorFigures[name] = { version, unpacked_bytes: own.bytes, files: own.files, ...probe };
    }
  } catch (err) {
    const text = String(err?.stderr ?? err);
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ENETUNREACH|network/i.test(text)) {
      process.stdout.write(`${JSON.stringify({ name: 'install-size', skipped: `the npm registry cannot be reached: ${text.split('\n')[0]}` })}\n`);
      process.exit(0);
    }
    throw err;
  }

  const shape = (figures) => ({
    unpacked_mib: mib(figures.unpacked_bytes),
    files: figures.files,
    installed_mib: mib(figures.installed_bytes),
    installed_files: figures.installed_files,
    installed_packages: figures.installed_packages,
  });
  const [first] = anchors;
  result = emit({
    name: 'install-size',
    figures: {
      packed_kib: round(pack.size / 1024, 1),
      ...shape({ unpacked_bytes: pack.unpackedSize, files: pack.entryCount, ...ours }),
    },
    baseline: first ? shape(anchorFigures[first]) : {},
    params: {
      version: pack.version,
      baseline_package: first ? `${first}@${anchorFigures[first].version}` : null,
      anchors: Object.fromEntries(Object.entries(anchorFigures).map(([name, figures]) => [name, { version: figures.version, ...shape(figures) }])),
      packed_bytes: pack.size,
      unpacked_bytes: pack.unpackedSize,
      installed_bytes: ours.installed_bytes,
      largest_installed_kib: ours.largest,
    },
    checks: {
      tarball_has_both_node_files: ['dist/nodes/account-link.js', 'dist/nodes/account-link-mqtt.js'].every((file) =>
        pack.files.some((entry) => entry.path === file),
      ),
      tarball_has_no_sources_or_tests: !pack.files.some((entry) => /^(src|test|bench)\//.test(entry.path) || entry.path.endsWith('.ts') && !entry.path.endsWith('.d.ts')),
      no_node_red_in_production_install: !existsSync(path.join(dir, 'ours', 'node_modules', 'node-red')),
    },
    notes: [
      'MiB = 2^20 bytes; installed = apparent size of node_modules after `npm install --omit=dev` of the tarball',
      `baseline: ${first ?? 'none'} installed the same way (node-red-contrib-spotify, which wraps it, is not on the registry reached here)`,
    ],
  });
} finally {
  cleanup();
}
exitOnFailedChecks(result?.checks ?? {});
