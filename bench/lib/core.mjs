// Fixtures for benchmarks of the built engine (dist/core): loading it, linked links on disk
// without a browser, and a Clock that counts timers.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/**
 * The engine as built by `npm run build`.
 * @returns {typeof import('../../src/core/index.js')}
 */
export function loadCore() {
  const entry = path.join(root, 'dist/core/index.js');
  if (!existsSync(entry)) throw new Error('dist/core is missing: run `npm run build` first (or `npm run bench`).');
  return createRequire(import.meta.url)(entry);
}

/** Settings of a `custom` provider whose only endpoint is the bench token server. */
export function benchSettings(tokenEndpoint) {
  return { provider: 'custom', clientId: 'bench-client', tokenEndpoint };
}

/** Store id and slug of the i-th bench link. */
export function linkId(index) {
  return `bench-${String(index).padStart(4, '0')}`;
}

/**
 * A linked link as the engine stores it once a person has approved: an access token that expires
 * at `expiresAt` after an hour's lifetime, and a refresh token the bench token server will accept once.
 * @param {{ expiresAt: number, index: number }} options
 * @returns {import('../../src/core/store.js').StoredLink}
 */
export function linkedRecord({ expiresAt, index }) {
  const lifetimeMs = 3600_000;
  return {
    tokens: {
      accessToken: `at-initial-${index}`,
      tokenType: 'Bearer',
      expiresAt,
      refreshToken: `seed-${index}-${Math.random().toString(36).slice(2)}`,
      scope: 'bench',
      obtainedAt: expiresAt - lifetimeMs,
      refreshExpiresAt: null,
    },
    account: { id: `user-${index}`, name: `Bench user ${index}` },
    problem: null,
  };
}

/** A fresh folder under the OS temp dir; removed by `cleanup()`. */
export function tempDir(prefix) {
  const dir = mkdtempSync(path.join(os.tmpdir(), `account-link-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A Clock that delegates to another (the system clock by default) and counts what the engine asks
 * of it: timers armed, cleared, fired, and pending now.
 * @param {import('../../src/core/clock.js').Clock} inner
 */
export function countingClock(inner) {
  const live = new Set();
  const counts = { armed: 0, cleared: 0, fired: 0 };
  /** @type {import('../../src/core/clock.js').Clock & { counts: typeof counts, readonly pending: number }} */
  const clock = {
    counts,
    get pending() {
      return live.size;
    },
    now: () => inner.now(),
    setTimer(delayMs, callback) {
      counts.armed++;
      const handle = inner.setTimer(delayMs, () => {
        live.delete(handle.id);
        counts.fired++;
        callback();
      });
      live.add(handle.id);
      return handle;
    },
    clearTimer(handle) {
      if (live.delete(handle.id)) counts.cleared++;
      inner.clearTimer(handle);
    },
  };
  return clock;
}
