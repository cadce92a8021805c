/**
 * Shared state of the fault-injection suite (test/faults, `npm run test:faults`): what each case
 * leaves behind for the final secrets scan, and the switch that keeps the slow suite out of `npm test`.
 */
import { rm } from 'node:fs/promises';
import type { FaultNodeRed } from './faults-node-red.js';

/** The fault suite's cases (`npm run test:faults`; `npm test` leaves test/faults out: it takes minutes). */
export const faultSuite: Mocha.SuiteFunction = describe;

/** Everything the cases produced that must not hold a secret, and the secrets they handled. */
export const evidence = {
  processes: [] as FaultNodeRed[],
  /** Every MQTT message seen on `#`: topic and payload as text. */
  mqtt: [] as { topic: string; payload: string }[],
  /** Secrets handed to or issued for the links under test. */
  secrets: new Set<string>(),
  /** Folders to delete once the scan is done. */
  cleanup: [] as string[],
  /** Figures for the report, printed at the end. */
  figures: [] as string[],
};

export function figure(line: string): void {
  evidence.figures.push(line);
  console.log(`      [faults] ${line}`);
}

export async function cleanupEvidence(): Promise<void> {
  for (const red of evidence.processes) await red.kill('SIGTERM').catch(() => undefined);
  for (const dir of evidence.cleanup) await rm(dir, { recursive: true, force: true });
  evidence.cleanup.length = 0;
}
