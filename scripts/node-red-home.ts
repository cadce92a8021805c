/**
 * A Node-RED user directory with this package loaded from the working tree, and a way to run
 * Node-RED on it as a child process. Used by `npm start` and by the tests that need a real runtime.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';

export const packageRoot = path.resolve(__dirname, '..');

/** The first port at or after `preferred` that nothing listens on (0: any free port). */
export async function freePort(preferred = 0): Promise<number> {
  for (let port = preferred; port < preferred + 50; port++) {
    const found = await new Promise<number | undefined>((resolve) => {
      const probe: Server = createServer()
        .once('error', () => resolve(undefined))
        .listen(port, '127.0.0.1', () => {
          const address = probe.address();
          probe.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
        });
    });
    if (found) return found;
    if (preferred === 0) break;
  }
  throw new Error(`No free port near ${preferred}`);
}

/** Makes `userDir` load this package (a symlink in its node_modules) and writes its settings file. */
export function prepareUserDir(userDir: string, settings: Record<string, unknown>): string {
  const modules = path.join(userDir, 'node_modules');
  mkdirSync(modules, { recursive: true });
  const target = path.join(modules, 'node-red-contrib-account-link');
  rmSync(target, { recursive: true, force: true });
  symlinkSync(packageRoot, target, 'dir');
  const settingsFile = path.join(userDir, 'settings.js');
  writeFileSync(settingsFile, `module.exports = ${JSON.stringify(settings, null, 2)};\n`);
  return settingsFile;
}

/** Starts Node-RED on `userDir` with its settings file. */
export function spawnNodeRed(userDir: string, settingsFile: string, stdio: 'inherit' | 'pipe' = 'inherit'): ChildProcess {
  return spawn(process.execPath, [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', settingsFile], {
    stdio: stdio === 'inherit' ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  });
}
