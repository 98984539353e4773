/**
 * Latency statistics for the queries benchmark: a seeded PRNG (so every run
 * picks the same parameters) and nearest-rank percentiles.
 */

/** mulberry32: tiny, fast and deterministic; statistical quality is ample for picking parameters. */
export function make_prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An element of `items` chosen by `rand`. */
export function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)];
}

/** Nearest-rank percentile (p in 0..100) of a non-empty sample. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) throw new RangeError("percentile of an empty sample");
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

export interface Percentiles {
  readonly p50_ms: number;
  readonly p95_ms: number;
  readonly p99_ms: number;
  readonly calls: number;
}

export function summarize(values: readonly number[]): Percentiles {
  return {
    p50_ms: round(percentile(values, 50)),
    p95_ms: round(percentile(values, 95)),
    p99_ms: round(percentile(values, 99)),
    calls: values.length,
  };
}

/** Rounds to `digits` decimals: sub-millisecond figures need three. */
export function round(value: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
