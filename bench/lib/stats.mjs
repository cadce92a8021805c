// Small numeric helpers shared by the benchmarks.

/**
 * Order statistics of a sample, rounded to 0.01.
 * @param {number[]} values
 * @returns {{ n: number, min: number, p50: number, p90: number, p99: number, max: number, mean: number }}
 */
export function summarize(values) {
  const sorted = [...values].sort((a, b) => a - b);
  // Nearest-rank percentile: the smallest value with at least p% of the sample at or below it.
  const pick = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  const mean = sorted.reduce((sum, v) => sum + v, 0) / (sorted.length || 1);
  return {
    n: sorted.length,
    min: round(sorted[0] ?? 0),
    p50: round(pick(50) ?? 0),
    p90: round(pick(90) ?? 0),
    p99: round(pick(99) ?? 0),
    max: round(sorted[sorted.length - 1] ?? 0),
    mean: round(mean),
  };
}

/**
 * The middle value of a sample (the upper one of the two middles for an even count), unrounded.
 * @param {number[]} values
 */
export function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

/** Rounds to `digits` decimals (2 by default). */
export function round(value, digits = 2) {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/**
 * figures[key] / baseline[key] for every numeric key both have (nested objects by dotted path),
 * except sample sizes (`n`), whose ratio means nothing.
 * @param {Record<string, unknown>} figures
 * @param {Record<string, unknown>} baseline
 * @returns {Record<string, number>}
 */
export function ratios(figures, baseline) {
  const ours = flatten(figures);
  const theirs = flatten(baseline);
  const result = {};
  for (const [key, value] of Object.entries(ours)) {
    const base = theirs[key];
    if (key === 'n' || key.endsWith('.n')) continue;
    if (typeof value === 'number' && typeof base === 'number' && base !== 0) result[key] = round(value / base, 4);
  }
  return result;
}

/**
 * Nested numbers as one level, keyed by dotted path: {a: {b: 1}} -> {"a.b": 1}.
 * @param {Record<string, unknown>} object
 * @returns {Record<string, unknown>}
 */
export function flatten(object, prefix = '') {
  const flat = {};
  for (const [key, value] of Object.entries(object ?? {})) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(flat, flatten(value, path));
    else flat[path] = value;
  }
  return flat;
}
