/**
 * A real Node-RED child process with this package installed (from dist/), and headless Chromium,
 * for the editor tests that drive the browser.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { freePort } from './brokers.js';

const root = path.resolve(__dirname, '../..');

/**
 * Where the browser tests put their screenshots: test-artifacts/editor, or ACCOUNT_LINK_SHOTS=<dir>
 * (`ACCOUNT_LINK_SHOTS=docs/images` remakes the README's pictures).
 */
export function shotsDir(): string {
  const dir = path.resolve(root, process.env.ACCOUNT_LINK_SHOTS || path.join('test-artifacts', 'editor'));
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * A page of a fresh browser context on `url`, collecting uncaught page errors; `localStorage`
 * entries are set before the page's own scripts run (e.g. the editor's `auth-tokens`).
 */
export async function openPage(
  browser: Browser,
  url: string,
  options: BrowserContextOptions,
  localStorage: Record<string, string> = {},
): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext(options);
  await context.addInitScript((entries) => {
    for (const [key, value] of Object.entries(entries)) window.localStorage.setItem(key, value);
  }, localStorage);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  await page.goto(url);
  return { page, errors };
}

export interface RunningNodeRed {
  /** `http://127.0.0.1:<port>` */
  base: string;
  /** Its user directory (a fresh temporary folder). */
  userDir: string;
  /** Everything Node-RED printed so far. */
  readonly log: string;
  /** SIGINT, waits for the process to exit, and deletes the user directory. */
  stop(): Promise<void>;
}

/**
 * Starts Node-RED in a fresh user directory (`prepare` may put files there first) with `flows`,
 * this package linked into its node_modules, the test settings plus `settings`, and waits until
 * `ready(base)` says so.
 */
export async function startNodeRed(
  flows: Record<string, unknown>[],
  settings: Record<string, unknown>,
  ready: (base: string) => Promise<boolean>,
  prepare: (userDir: string) => Promise<void> = async () => undefined,
): Promise<RunningNodeRed> {
  const userDir = mkdtempSync(path.join(os.tmpdir(), 'account-link-editor-'));
  await prepare(userDir);
  mkdirSync(path.join(userDir, 'node_modules'), { recursive: true });
  symlinkSync(root, path.join(userDir, 'node_modules', 'node-red-contrib-account-link'), 'dir');
  writeFileSync(path.join(userDir, 'flows.json'), JSON.stringify(flows));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const all = {
    uiPort: port, uiHost: '127.0.0.1', flowFile: 'flows.json',
    telemetry: { enabled: false }, editorTheme: { tours: false, palette: { catalogues: [] } }, logging: { console: { level: 'warn' } },
    accountLink: { mdns: false },
    ...settings,
  };
  writeFileSync(path.join(userDir, 'settings.js'), `module.exports = ${JSON.stringify(all)};\n`);
  const red: ChildProcess = spawn(process.execPath, [require.resolve('node-red/red.js'), '-u', userDir, '-s', path.join(userDir, 'settings.js')], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  red.stdout!.on('data', (chunk) => (log += chunk));
  red.stderr!.on('data', (chunk) => (log += chunk));
  const running: RunningNodeRed = {
    base,
    userDir,
    get log() {
      return log;
    },
    async stop() {
      if (red.exitCode === null) {
        const exited = new Promise((resolve) => red.once('exit', resolve));
        red.kill('SIGINT');
        await exited;
      }
      rmSync(userDir, { recursive: true, force: true });
    },
  };
  for (let i = 0; ; i++) {
    if (await ready(base).catch(() => false)) return running;
    if (i > 600 || red.exitCode !== null) {
      await running.stop();
      throw new Error(`Node-RED did not start:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
