/**
 * The benchmark's database: bench_queries_<scale> on the server, migrated
 * and seeded through the CLI (the code path a developer uses), reused when
 * it already holds the scale, plus the baselines' copies.
 */
import postgres from "postgres";
import { EVENT_MONTHS, type ScaleName, SCALES } from "../../src/seed/scales.ts";

export const REPO = new URL("../../", import.meta.url).pathname;

/** Only databases named like this are ever created, seeded or altered. */
export function bench_database_name(scale: ScaleName): string {
  return `bench_queries_${scale}`;
}

/** `url` with its database replaced. */
export function with_database(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/** The embedded server's URL, started if needed (`deno task db start`). */
export async function embedded_server_url(): Promise<string> {
  const out = await run_cli(["db", "start"]);
  const url = out.split("\n").map((l) => l.trim()).reverse().find((l) => /^postgres(ql)?:\/\//.test(l));
  if (!url) throw new Error(`\`deno task db start\` printed no URL:\n${out}`);
  return url;
}

/** Runs the Strata CLI from the repository; returns its stdout, throws with its stderr on failure. */
export async function run_cli(args: string[], log?: (line: string) => void): Promise<string> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--quiet", "src/main.ts", ...args],
    cwd: REPO,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  });
  const output = await command.output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(output.stdout);
  const stderr = decoder.decode(output.stderr);
  if (output.code !== 0) {
    throw new Error(`strata ${args[0]} exited with ${output.code}:\n${stderr}${stdout}`);
  }
  if (log) { for (const line of stdout.trim().split("\n")) log(`  ${line}`); }
  return stdout;
}

/** A connection pool; `role` makes every session of the pool run as that role (a startup parameter). */
export function open_pool(
  url: string,
  options: { max?: number; role?: string; onnotice?: (n: postgres.Notice) => void; prepare?: boolean } = {},
): postgres.Sql {
  return postgres(url, {
    max: options.max ?? 1,
    prepare: options.prepare ?? true,
    onnotice: options.onnotice ?? (() => {}),
    connection: {
      application_name: "strata bench queries",
      ...(options.role ? { role: options.role } : {}),
    },
    // Benchmarks run long statements (copies, DELETE of a month).
    idle_timeout: 0,
    max_lifetime: null,
  });
}

export interface SeededState {
  readonly anchor: Date;
  readonly counts: Record<string, number>;
}

/** The exact row counts a seeded scale gives (see src/seed/scales.ts). */
export function expected_counts(scale: ScaleName): Record<string, number> {
  const s = SCALES[scale];
  return {
    workshops: s.workshops,
    users: s.users,
    leads: s.leads,
    analytics_events: s.events,
    workshop_progress: s.progressRows,
  };
}

/**
 * The seeded state of a database, or null when it is not (completely)
 * seeded at `scale`: unmigrated, empty, another scale, or a seed that died
 * half-way.
 */
export async function seeded_state(sql: postgres.Sql, scale: ScaleName): Promise<SeededState | null> {
  const [schema] = await sql`select to_regclass('public.analytics_events') is not null as ok`;
  if (!schema.ok) return null;
  const expected = expected_counts(scale);
  const counts: Record<string, number> = {};
  for (const table of Object.keys(expected)) {
    const [row] = await sql.unsafe(`select count(*)::bigint as n from public.${table}`);
    counts[table] = Number(row.n);
    if (counts[table] !== expected[table]) return null;
  }
  // The leaderboard is the last thing the seed fills.
  const [lb] = await sql`select count(*)::bigint as n from public.workshop_leaderboard`;
  if (Number(lb.n) === 0 && counts.workshop_progress > 0) {
    // Empty view: the seed stopped before its refresh, or the data is so old
    // that nothing is in the 30-day window; either way, re-seed.
    return null;
  }
  // Events are spread up to the anchor: the latest one is the anchor minus
  // a fraction of the event spacing (seconds at every scale).
  const [{ max }] = await sql`select max(created_at) as max from public.analytics_events`;
  return { anchor: new Date(max), counts };
}

/** Creates the database if missing; true when it was created. */
export async function ensure_database(server_url: string, database: string): Promise<boolean> {
  const admin = open_pool(with_database(server_url, "postgres"));
  try {
    const [row] = await admin`select 1 from pg_database where datname = ${database}`;
    if (row) return false;
    await admin.unsafe(`create database ${database}`);
    return true;
  } finally {
    await admin.end();
  }
}

/** Months (first day, UTC) the seed fills, oldest first. */
export function event_months(anchor: Date): Date[] {
  return Array.from(
    { length: EVENT_MONTHS },
    (_, i) => new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth() - (EVENT_MONTHS - 1) + i, 1)),
  );
}

export function iso_day(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export const FLAT_EVENTS = "bench_analytics_events_flat";
export const LEADS_COPY = "bench_leads_no_composite";

/**
 * The unpartitioned copy of analytics_events: same rows (in the same
 * physical order, time order), same primary key and indexes, analyzed.
 * Built once per database and reused while its row count matches.
 */
export async function ensure_flat_events(sql: postgres.Sql, log: (line: string) => void): Promise<void> {
  const [{ src }] = await sql`select count(*)::bigint as src from public.analytics_events`;
  const [exists] = await sql`select to_regclass(${"public." + FLAT_EVENTS}) is not null as ok`;
  if (exists.ok) {
    const [{ n }] = await sql.unsafe(`select count(*)::bigint as n from public.${FLAT_EVENTS}`);
    if (Number(n) === Number(src)) return;
    log(`  ${FLAT_EVENTS} holds ${n} rows, analytics_events ${src}: rebuilding it`);
    await sql.unsafe(`drop table public.${FLAT_EVENTS}`);
  }
  const started = performance.now();
  log(`  building ${FLAT_EVENTS} (unpartitioned copy of ${Number(src).toLocaleString("en-US")} events)...`);
  await bulk_settings(sql);
  await sql.unsafe(`create table public.${FLAT_EVENTS} as select * from public.analytics_events order by created_at`);
  // The parent's primary key and indexes, by the same definitions.
  await sql.unsafe(`alter table public.${FLAT_EVENTS} add primary key (id, created_at)`);
  await sql.unsafe(`create index on public.${FLAT_EVENTS} (workshop_id, created_at)`);
  await sql.unsafe(`create index on public.${FLAT_EVENTS} (client_key, event_type, created_at)`);
  await sql.unsafe(`vacuum analyze public.${FLAT_EVENTS}`);
  log(`  ${FLAT_EVENTS} built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

/**
 * The recent-leads baseline runs against a copy of leads with every index
 * of leads except the composite one. A DROP INDEX inside a transaction that
 * is rolled back would do for one connection, but the 8 connections of the
 * concurrent run cannot see another transaction's uncommitted DROP (they
 * would wait on its lock), and a committed DROP on the real table is a
 * schema change this benchmark must never leave behind if interrupted.
 */
export async function ensure_leads_copy(sql: postgres.Sql, log: (line: string) => void): Promise<void> {
  const [{ src }] = await sql`select count(*)::bigint as src from public.leads`;
  const [exists] = await sql`select to_regclass(${"public." + LEADS_COPY}) is not null as ok`;
  if (exists.ok) {
    const [{ n }] = await sql.unsafe(`select count(*)::bigint as n from public.${LEADS_COPY}`);
    if (Number(n) === Number(src)) return;
    await sql.unsafe(`drop table public.${LEADS_COPY}`);
  }
  const started = performance.now();
  log(`  building ${LEADS_COPY} (leads without the composite index)...`);
  await bulk_settings(sql);
  await sql.unsafe(`create table public.${LEADS_COPY} as select * from public.leads order by id`);
  await sql.unsafe(`alter table public.${LEADS_COPY} add primary key (id)`);
  // Every other index of leads, recreated from its own definition, so the
  // planner has exactly the alternatives it would have after the drop
  // (notably the GIN index led by workshop_id).
  const defs = await sql`
    select pg_get_indexdef(i.indexrelid) as def
      from pg_index i join pg_class c on c.oid = i.indexrelid
     where i.indrelid = 'public.leads'::regclass and not i.indisprimary
       and c.relname <> 'leads_workshop_status_created_idx'`;
  for (const { def } of defs) {
    const copy = String(def)
      .replace(
        /^CREATE (UNIQUE )?INDEX (\S+) ON public\.leads /,
        (_m, u) => `CREATE ${u ?? ""}INDEX ON public.${LEADS_COPY} `,
      );
    await sql.unsafe(copy);
  }
  await sql.unsafe(`vacuum analyze public.${LEADS_COPY}`);
  log(`  ${LEADS_COPY} built in ${((performance.now() - started) / 1000).toFixed(1)} s`);
}

async function bulk_settings(sql: postgres.Sql): Promise<void> {
  await sql.unsafe("set maintenance_work_mem = '1GB'");
  await sql.unsafe("set max_parallel_maintenance_workers = 2");
  await sql.unsafe("set synchronous_commit = off");
}

/**
 * Puts back what an interrupted retention measure may have removed: the
 * oldest month's partition (dropped by ours) is rebuilt from the copy, and
 * the copy's month (deleted by the baseline) from the partitioned table.
 */
export async function restore_month(sql: postgres.Sql, month: Date, log: (line: string) => void): Promise<void> {
  const from = month.toISOString();
  const to = new Date(Date.UTC(month.getUTCFullYear(), month.getUTCMonth() + 1, 1)).toISOString();
  const count = async (table: string) => {
    const [{ n }] = await sql.unsafe(
      `select count(*)::bigint as n from public.${table} where created_at >= $1 and created_at < $2`,
      [from, to],
    );
    return Number(n);
  };
  const [part] = await sql`
    select 1 from pg_inherits i join pg_class c on c.oid = i.inhrelid
     where i.inhparent = 'public.analytics_events'::regclass
       and c.relname = ${"analytics_events_" + from.slice(0, 7).replace("-", "_")}`;
  await bulk_settings(sql);
  if (!part) {
    log(`  restoring partition for ${from.slice(0, 7)} from ${FLAT_EVENTS}`);
    await sql`select public.create_monthly_partition('public.analytics_events', ${iso_day(month)}::date)`;
  }
  const [partitioned, flat] = [await count("analytics_events"), await count(FLAT_EVENTS)];
  if (partitioned === flat) return;
  if (partitioned < flat) {
    if (partitioned > 0) throw new Error(`analytics_events holds part of ${from.slice(0, 7)}: re-seed with --reset`);
    await sql.unsafe(
      `insert into public.analytics_events select * from public.${FLAT_EVENTS}
        where created_at >= $1 and created_at < $2 order by created_at`,
      [from, to],
    );
    await sql.unsafe(`analyze public.analytics_events`);
  } else {
    if (flat > 0) throw new Error(`${FLAT_EVENTS} holds part of ${from.slice(0, 7)}: drop it and rerun`);
    log(`  restoring ${from.slice(0, 7)} in ${FLAT_EVENTS}`);
    await sql.unsafe(
      `insert into public.${FLAT_EVENTS} select * from public.analytics_events
        where created_at >= $1 and created_at < $2 order by created_at`,
      [from, to],
    );
    await sql.unsafe(`vacuum analyze public.${FLAT_EVENTS}`);
  }
}
