/**
 * Latency measurement for the queries benchmark: a seeded PRNG (so every run
 * issues the same parameters), a runner that spreads a number of calls over
 * N concurrent workers, and nearest-rank percentiles.
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

/**
 * One call of a query. It returns the milliseconds to count when only part
 * of the call is the measured work (e.g. the statement inside a transaction
 * whose BEGIN/COMMIT are the same for both sides), or nothing to count the
 * whole call.
 */
export type Call = (index: number) => Promise<number | void>;

export interface RunOptions {
  readonly calls: number;
  readonly concurrency: number;
  /**
   * Stop starting new calls after this long. Only the slow baselines get a
   * budget: 2,000 calls of a 1-second aggregation would take half an hour
   * and say nothing more than 100 calls do.
   */
  readonly budget_ms?: number;
  /** Calls made anyway, even past the budget. */
  readonly min_calls?: number;
}

export interface Sample {
  readonly latencies_ms: number[];
  readonly wall_ms: number;
}

/**
 * Runs `calls` calls on `concurrency` workers, each worker issuing its next
 * call as soon as its previous one returns (closed loop, like an application
 * server with a pool of that size), and records every call's latency.
 */
export async function run_calls(call: Call, options: RunOptions): Promise<Sample> {
  const latencies: number[] = [];
  const started = performance.now();
  const min_calls = options.min_calls ?? 0;
  let next = 0;
  const worker = async () => {
    while (next < options.calls) {
      if (
        options.budget_ms !== undefined && latencies.length >= min_calls &&
        performance.now() - started > options.budget_ms
      ) return;
      const index = next++;
      const t0 = performance.now();
      const measured = await call(index);
      latencies.push(typeof measured === "number" ? measured : performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  return { latencies_ms: latencies, wall_ms: performance.now() - started };
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
