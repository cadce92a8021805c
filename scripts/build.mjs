// Compiles src/ and lays out dist/ the way Node-RED loads a package: each node's .js with its
// .html beside it, and locales/<lang>/ next to them (Node-RED looks for locales/ beside the .js).
// Then Vite builds the Dashboard 2.0 widget (ui/) into resources/ (vite.config.mjs).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(root, 'dist');
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [tsc, '-p', path.join(root, 'tsconfig.build.json')], { stdio: 'inherit' });

const copies = [
  ['nodes', 'dist/nodes'],
  ['locales', 'dist/nodes/locales'],
];
for (const [from, to] of copies) {
  const source = path.join(root, from);
  if (existsSync(source)) cpSync(source, path.join(root, to), { recursive: true });
}

// The config is passed in, not loaded by Vite: loading it would bundle it into node_modules/.vite-temp.
const { default: widget } = await import('../vite.config.mjs');
await build({ ...widget, configFile: false });
