/**
 * Fills a migrated database with a deterministic data set of a given scale
 * (see {@linkcode SCALES}), entirely on the server.
 */
import type { Session } from "../db/session.ts";
import { UsageError } from "../errors.ts";
import { type ScaleName, SCALES } from "./scales.ts";
import { eventMonths, SEEDED_TABLES, type SeedParams, seedSteps } from "./steps.ts";

/** What one table received. */
export interface TableResult {
  readonly table: string;
  readonly rows: number;
  readonly ms: number;
}

export interface SeedOptions {
  readonly scale: ScaleName;
  readonly seed: number;
  readonly anchor: Date;
  /** Empty the seeded tables first when they hold rows (otherwise refuse). */
  readonly reset?: boolean;
  /** Called after each chunk: rows done of the table's total, ms since the table started. */
  readonly onProgress?: (table: string, done: number, total: number, ms: number) => void;
}

/** Runs the seed; returns the rows and time of each table, in order. */
export async function seed(session: Session, options: SeedOptions): Promise<TableResult[]> {
  const params: SeedParams = { seed: options.seed, anchor: options.anchor, scale: SCALES[options.scale] };
  const steps = seedSteps(params);

  const [schema] = await session.query<{ ok: boolean }>(
    "select to_regclass('public.workshops') is not null and to_regclass('public.analytics_events') is not null as ok",
  );
  if (!schema.ok) throw new UsageError("the database has no Strata schema: run `deno task migrate` first");

  const nonEmpty: string[] = [];
  for (const table of SEEDED_TABLES) {
    const [row] = await session.exec<{ any: boolean }>(`select exists (select from public.${table}) as any`);
    if (row.any) nonEmpty.push(table);
  }
  if (nonEmpty.length > 0 && !options.reset) {
    throw new UsageError(`${nonEmpty.join(", ")} already hold rows; pass --reset to replace them (they are emptied)`);
  }

  // Generated data is reproducible: losing the last commits in a crash is
  // harmless, and not waiting for each flush makes the chunks faster.
  await session.exec("set synchronous_commit = off");
  // The generator makes every reference valid by construction (the test
  // suite checks it), so the per-row foreign key triggers, most of the
  // insert time of the large tables, are skipped for this session only.
  await session.exec("set session_replication_role = replica");
  await session.exec(`truncate ${SEEDED_TABLES.map((t) => `public.${t}`).join(", ")} restart identity cascade`);

  // Months before the migration's first partition would otherwise land in
  // the default partition.
  for (const month of eventMonths(options.anchor)) {
    await session.query("select public.create_monthly_partition('public.analytics_events', $1::date)", [
      month.toISOString().slice(0, 10),
    ]);
  }

  const results: TableResult[] = [];
  for (const step of steps) {
    const started = performance.now();
    let done = 0;
    for (let from = 1; from <= step.rows; from += step.chunk) {
      const to = Math.min(step.rows, from + step.chunk - 1);
      await session.exec(step.sql(from, to));
      done = to;
      options.onProgress?.(step.table, done, step.rows, performance.now() - started);
    }
    await session.exec(`analyze public.${step.table}`);
    results.push({ table: step.table, rows: done, ms: performance.now() - started });
  }

  // The replica role skipped the triggers that keep get_customer_context()'s
  // cache coherent too: it is rendered once, for every workshop, instead of
  // once per chunk.
  const cacheStarted = performance.now();
  await session.exec("select public.customer_context_render_all()");
  const [cache] = await session.exec<{ n: number }>("select count(*)::int as n from public.customer_context_cache");
  const cacheMs = performance.now() - cacheStarted;
  options.onProgress?.("customer_context_cache", cache.n, cache.n, cacheMs);
  results.push({ table: "customer_context_cache", rows: cache.n, ms: cacheMs });

  const started = performance.now();
  // A plain refresh: nothing reads the view yet, and CONCURRENTLY would diff
  // every new row against the empty view. The worker's function records its
  // refreshes; a seed's is recorded the same way.
  await session.exec("refresh materialized view public.workshop_leaderboard");
  await session.exec("update public.workshop_leaderboard_refresh set refreshed_at = now()");
  await session.exec("analyze public.workshop_leaderboard");
  const [lb] = await session.exec<{ n: number }>("select count(*)::int as n from public.workshop_leaderboard");
  options.onProgress?.("workshop_leaderboard", lb.n, lb.n, performance.now() - started);
  results.push({ table: "workshop_leaderboard", rows: lb.n, ms: performance.now() - started });
  await session.exec("reset session_replication_role");
  await session.exec("reset synchronous_commit");
  return results;
}
