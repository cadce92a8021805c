/**
 * Mocha root hook plugin (registered in .mocharc.json): after the run, says which tests were
 * skipped and the one command that installs the tools they need. Prints nothing when nothing was
 * skipped.
 *
 * The fixtures skip with `this.skip()` in a `before` hook when a tool is missing (mosquitto:
 * test/mqtt/links.ts `useMosquitto`; Chromium at /usr/bin/chromium: the browser tests under
 * test/web and test/editor), which makes mocha mark their tests pending. This plugin collects the
 * pending tests from the suite tree and checks the same tools the way those fixtures do.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { mosquittoPath } from './brokers.js';

type Suite = Mocha.Suite;

let root: Suite | undefined;

/** The tools the fixtures need that this machine lacks, with the Debian package that brings each. */
function missingTools(): { tool: string; pkg: string }[] {
  const missing: { tool: string; pkg: string }[] = [];
  if (!mosquittoPath()) missing.push({ tool: 'mosquitto', pkg: 'mosquitto' });
  if (!existsSync('/usr/bin/chromium')) missing.push({ tool: '/usr/bin/chromium', pkg: 'chromium' });
  return missing;
}

function pendingTests(suite: Suite, into: Mocha.Test[] = []): Mocha.Test[] {
  for (const test of suite.tests) if (test.isPending()) into.push(test);
  for (const child of suite.suites) pendingTests(child, into);
  return into;
}

export const mochaHooks = {
  beforeAll(this: Mocha.Context): void {
    root = this.test?.parent;
  },
};

/** Runs after the reporter's summary, so the report is the last thing printed. */
export function mochaGlobalTeardown(): void {
  if (!root) return;
  const skipped = pendingTests(root);
  if (skipped.length === 0) return;

  // Group by file, then by top-level describe, in run order.
  const groups = new Map<string, number>();
  for (const test of skipped) {
    let top: Suite = test.parent as Suite;
    while (top.parent && !top.parent.root) top = top.parent;
    const file = test.file ? path.relative(process.cwd(), test.file) : '?';
    const key = `${file}: ${top.title || test.title}`;
    groups.set(key, (groups.get(key) ?? 0) + 1);
  }
  const lines = ['', `  Skipped ${skipped.length} test${skipped.length === 1 ? '' : 's'}:`];
  for (const [key, count] of groups) lines.push(`    ${count} in ${key}`);
  const missing = missingTools();
  if (missing.length > 0) {
    lines.push(
      `  Missing on this machine: ${missing.map((m) => m.tool).join(', ')}. Install and run again:`,
      `    sudo apt-get install -y ${missing.map((m) => m.pkg).join(' ')}`,
    );
  }
  console.log(lines.join('\n') + '\n');
}
