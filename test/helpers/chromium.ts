/**
 * The headless Chromium every browser test drives: Debian's `chromium` through playwright-core
 * (no browser download is possible here). A test skips with a printed reason when it is missing.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** True when the browser tests cannot run here; then it says why (and the caller skips). */
export function chromiumMissing(): boolean {
  if (existsSync(CHROMIUM)) return false;
  console.log(`      skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
  return true;
}

export async function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}
