// How a benchmark hands its result to bench/run.mjs: one JSON object on stdout.
import { ratios } from './stats.mjs';

/**
 * Prints the result as one JSON line; fills `ratio` (figures / baseline) for keys the bench did not set.
 * @param {{ name: string, figures: Record<string, unknown>, baseline?: Record<string, unknown>,
 *   ratio?: Record<string, number>, params?: Record<string, unknown>, checks?: Record<string, boolean>,
 *   notes?: string[] }} result
 */
/** A bench result in the runner's shape: ratios against the baseline filled in, optional parts kept. */
export function normalize(result) {
  const baseline = result.baseline ?? {};
  return {
    name: result.name,
    figures: result.figures,
    baseline,
    ratio: { ...ratios(result.figures, baseline), ...(result.ratio ?? {}) },
    ...(result.params ? { params: result.params } : {}),
    ...(result.checks ? { checks: result.checks } : {}),
    ...(result.notes ? { notes: result.notes } : {}),
  };
}

export function emit(result) {
  const output = normalize(result);
  process.stdout.write(`${JSON.stringify(output)}\n`);
  return output;
}

/**
 * Exits non-zero when a check failed, after the result was printed, naming the failed checks on stderr.
 * @param {Record<string, boolean>} checks
 */
export function exitOnFailedChecks(checks) {
  const failed = Object.entries(checks).filter(([, ok]) => !ok).map(([name]) => name);
  if (failed.length > 0) {
    process.stderr.write(`failed checks: ${failed.join(', ')}\n`);
    process.exitCode = 1;
  }
}
