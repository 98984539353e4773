/**
 * The measured queries and their baselines (issue 3, "Benchmark").
 *
 * Every repeated query is a prepared statement (postgres.js `prepare: true`,
 * what the application does). Queries the application runs on behalf of a
 * signed-in user run the way it runs them: in a transaction that first
 * names the role and the user, then the query; only the query's round trip
 * is counted for both sides, because the BEGIN, the set_config and the
 * COMMIT are identical on both sides of each comparison and would only
 * dilute the difference being measured (the whole transaction is reported
 * too, as tx_p95_ms).
 */
import type postgres from "postgres";
import { FLAT_EVENTS, LEADS_COPY } from "./setup.ts";
import { make_prng, pick } from "./measure.ts";

export interface Fixture {
  /** Every workshop: id, slug and one of its members. */
  readonly workshops: readonly { id: string; slug: string; member: string }[];
  readonly anchor: Date;
}

export interface Pools {
  /** Superuser connections: the owner's view, no row-level security at all. */
  readonly owner: postgres.Sql;
  /** Sessions running as strata_app (a startup parameter), for anonymous app calls. */
  readonly app: postgres.Sql;
}

/** The parameters of call i: the same sequence for a query and its baseline. */
export interface Params {
  readonly workshop_id: string;
  readonly slug: string;
  readonly member: string;
  readonly status: string;
}

export const STATUSES = ["new", "contacted", "qualified", "won", "lost"];

/**
 * The parameters of `count` calls, from a hot set of `hot` workshops drawn
 * once from all of them. Why a hot set: the targets are warm-cache figures,
 * and the embedded server has shared_buffers = 128 MB while 2,000 distinct
 * workshops touch more than that; the rest would come from the OS page
 * cache, which this VM reclaims proactively (kdamond), so a spread-out
 * sequence measures the disk as much as the query. The warm-up pass makes
 * every measured call find its pages in memory.
 */
export function make_params(fixture: Fixture, count: number, seed: number, hot: number): Params[] {
  const rand = make_prng(seed);
  const pool = [...fixture.workshops];
  // A partial Fisher-Yates shuffle picks the hot set deterministically.
  const size = Math.min(hot, pool.length);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(rand() * (pool.length - i));
    [pool[i], pool[j]] = [pool[j], pool[i]];
  }
  const set = pool.slice(0, size);
  return Array.from({ length: count }, () => {
    const w = pick(rand, set);
    return { workshop_id: w.id, slug: w.slug, member: w.member, status: pick(rand, STATUSES) };
  });
}

/** One side of a comparison. */
export interface Variant {
  readonly label: string;
  /** One call with parameters p; returns the counted milliseconds when only part of the call counts. */
  call(pools: Pools, p: Params): Promise<number | void>;
  /** Runs the statement(s) once on a reserved superuser connection with auto_explain on. */
  explain(conn: postgres.ReservedSql, p: Params): Promise<unknown>;
  /** Slow baselines stop after this long (see RunOptions.budget_ms). */
  readonly budget_ms?: number;
}

export interface Case {
  readonly name: string;
  readonly query: string;
  readonly baseline: string;
  readonly target: string;
  readonly ours: Variant;
  readonly base: Variant;
  /** Whether the figures meet the target; ratio = baseline p95 / ours p95. */
  met(ours_p95: number, base_p95: number): boolean;
  /** The partitioned table whose pruning the EXPLAIN summary reports. */
  readonly partitioned?: boolean;
  readonly round_trips?: { ours: number; base: number };
}

const RECENT_LEADS = (table: string) => `
  select id, status, contact, created_at
    from public.${table}
   where workshop_id = $1 and status = $2
   order by created_at desc
   limit 50`;

const ANALYTICS_7D = (table: string) => `
  select event_type, count(*)::int as events
    from public.${table}
   where workshop_id = $1 and created_at >= $2 and created_at < $3
   group by event_type`;

/** The top 50 of one workshop computed from workshop_progress, as the view would rank it. */
const LIVE_WORKSHOP_TOP50 = `
  select p.workshop_id, p.user_id, u.display_name,
         count(*)::int as completed_modules,
         round(avg(p.score), 2) as average_score,
         rank() over (order by count(*) desc, avg(p.score) desc)::int as rank,
         max(p.updated_at) as last_completed_at
    from public.workshop_progress p
    join public.users u on u.id = p.user_id
   where p.workshop_id = $1 and p.status = 'completed' and p.updated_at >= now() - interval '30 days'
   group by p.workshop_id, p.user_id, u.display_name
   order by rank, p.user_id
   limit 50`;

const LIVE_GLOBAL_TOP50 = `
  select workshop_id, user_id, count(*)::int as completed_modules, round(avg(score), 2) as average_score
    from public.workshop_progress
   where status = 'completed' and updated_at >= now() - interval '30 days'
   group by workshop_id, user_id
   order by count(*) desc, avg(score) desc
   limit 50`;

const VIEW_GLOBAL_TOP50 = `
  select workshop_id, user_id, completed_modules, average_score
    from public.workshop_leaderboard
   order by completed_modules desc, average_score desc
   limit 50`;

/** The application's four queries that get_customer_context replaces (as in tests/schema). */
async function four_queries(sql: postgres.Sql | postgres.ReservedSql, slug: string): Promise<void> {
  const [workshop] = await sql`select id, slug, name, settings from public.workshops where slug = ${slug}`;
  if (!workshop) return;
  await sql`
    select id, name, description, price from public.customer_services
     where workshop_id = ${workshop.id} and active order by name, id`;
  await sql`
    select id, workshop_id, question, answer from public.faq
     where (workshop_id = ${workshop.id} or workshop_id is null) and active
     order by workshop_id nulls first, position, id`;
  await sql`select opening_hours from public.workshops where slug = ${slug}`;
}

/**
 * A query run as the application runs it for a signed-in user: one
 * transaction naming the role and the user (one statement), then the query.
 * Returns the query's own round trip; the whole transaction goes to `tx`.
 */
async function in_user_tx(
  sql: postgres.Sql,
  role: string,
  user: string,
  query: string,
  params: unknown[],
  tx_times?: number[],
): Promise<number> {
  const t_tx = performance.now();
  let counted = 0;
  await sql.begin(async (tx) => {
    await tx`select set_config('role', ${role}, true), set_config('app.user_id', ${user}, true)`;
    const t0 = performance.now();
    await tx.unsafe(query, params as postgres.ParameterOrJSON<never>[], { prepare: true });
    counted = performance.now() - t0;
  });
  tx_times?.push(performance.now() - t_tx);
  return counted;
}

async function explain_in_user_tx(
  conn: postgres.ReservedSql,
  role: string,
  user: string,
  query: string,
  params: unknown[],
): Promise<void> {
  await conn.unsafe("begin");
  try {
    await conn`select set_config('role', ${role}, true), set_config('app.user_id', ${user}, true)`;
    await conn.unsafe(query, params as postgres.ParameterOrJSON<never>[], { prepare: true });
  } finally {
    await conn.unsafe("rollback");
  }
}

/** Full-transaction times of the user-transaction variants, by variant label. */
export const tx_times = new Map<string, number[]>();
function tx_bucket(label: string): number[] {
  let b = tx_times.get(label);
  if (!b) tx_times.set(label, b = []);
  return b;
}

export function make_cases(fixture: Fixture): Case[] {
  // "The last 7 days" as a closed window [now - 7 days, now), with the data
  // set's anchor as now. The upper bound matters to pruning: with a lower
  // bound only, the default partition (and every future month) could hold
  // matching rows and is scanned at every call.
  const until = fixture.anchor.toISOString();
  const since = new Date(fixture.anchor.getTime() - 7 * 86_400_000).toISOString();
  const unsafe = (sql: postgres.Sql | postgres.ReservedSql, q: string, params: unknown[]) =>
    sql.unsafe(q, params as postgres.ParameterOrJSON<never>[], { prepare: true });

  return [
    {
      name: "customer_context",
      query: "`select get_customer_context($1)` as strata_app, anonymous (the chat widget's caller)",
      baseline: "the four queries it replaces (workshop by slug, active services, global + workshop FAQ, " +
        "opening hours), one round trip each, as the owner",
      target: "p95 ≤ 2 ms; faster than the baseline",
      round_trips: { ours: 1, base: 4 },
      met: (o, b) => o <= 2 && o < b,
      ours: {
        label: "get_customer_context",
        call: async (pools, p) => {
          await pools.app`select public.get_customer_context(${p.slug}) as doc`;
        },
        explain: async (conn, p) => {
          await conn`select set_config('role', 'strata_app', false)`;
          await conn`select public.get_customer_context(${p.slug}) as doc`;
        },
      },
      base: {
        label: "four queries",
        call: (pools, p) => four_queries(pools.owner, p.slug),
        explain: (conn, p) => four_queries(conn, p.slug),
      },
    },
    {
      name: "recent_leads",
      query: "leads of one workshop with one status, newest first, page of 50 (as the owner)",
      baseline: `the same query on ${LEADS_COPY}: a copy of leads with all its indexes but the composite one`,
      target: "p95 ≤ 2 ms",
      met: (o) => o <= 2,
      ours: {
        label: "recent leads",
        call: async (pools, p) => {
          await unsafe(pools.owner, RECENT_LEADS("leads"), [p.workshop_id, p.status]);
        },
        explain: (conn, p) => unsafe(conn, RECENT_LEADS("leads"), [p.workshop_id, p.status]),
      },
      base: {
        label: "recent leads without the composite index",
        call: async (pools, p) => {
          await unsafe(pools.owner, RECENT_LEADS(LEADS_COPY), [p.workshop_id, p.status]);
        },
        explain: (conn, p) => unsafe(conn, RECENT_LEADS(LEADS_COPY), [p.workshop_id, p.status]),
      },
    },
    {
      name: "analytics_7d",
      query:
        "one workshop's events of the last 7 days, `created_at >= now - 7 days and created_at < now` with the data " +
        "set's anchor as now, counted by type (as the owner)",
      baseline: `the same query on ${FLAT_EVENTS}: an unpartitioned copy of the same rows with the same indexes`,
      target: "p95 ≤ 10 ms and ≤ 1.2× the baseline",
      partitioned: true,
      met: (o, b) => o <= 10 && o <= 1.2 * b,
      ours: {
        label: "analytics, partitioned",
        call: async (pools, p) => {
          await unsafe(pools.owner, ANALYTICS_7D("analytics_events"), [p.workshop_id, since, until]);
        },
        explain: (conn, p) => unsafe(conn, ANALYTICS_7D("analytics_events"), [p.workshop_id, since, until]),
      },
      base: {
        label: "analytics, unpartitioned",
        call: async (pools, p) => {
          await unsafe(pools.owner, ANALYTICS_7D(FLAT_EVENTS), [p.workshop_id, since, until]);
        },
        explain: (conn, p) => unsafe(conn, ANALYTICS_7D(FLAT_EVENTS), [p.workshop_id, since, until]),
      },
    },
    {
      name: "leaderboard_top50",
      query: "`workshop_leaderboard_for_member(workshop, 50)` as strata_app, a member of that workshop",
      baseline: "the live aggregation over workshop_progress (30 days, completed, ranked, joined to users) " +
        "for that workshop, in the same role and transaction",
      target: "p95 ≤ 1 ms",
      met: (o) => o <= 1,
      ours: {
        label: "leaderboard function",
        call: (pools, p) =>
          in_user_tx(
            pools.owner,
            "strata_app",
            p.member,
            "select * from public.workshop_leaderboard_for_member($1, 50)",
            [p.workshop_id],
            tx_bucket("leaderboard_top50:ours"),
          ),
        explain: (conn, p) =>
          explain_in_user_tx(
            conn,
            "strata_app",
            p.member,
            "select * from public.workshop_leaderboard_for_member($1, 50)",
            [p.workshop_id],
          ),
      },
      base: {
        label: "live workshop aggregation",
        call: (pools, p) =>
          in_user_tx(
            pools.owner,
            "strata_app",
            p.member,
            LIVE_WORKSHOP_TOP50,
            [p.workshop_id],
            tx_bucket("leaderboard_top50:base"),
          ),
        explain: (conn, p) => explain_in_user_tx(conn, "strata_app", p.member, LIVE_WORKSHOP_TOP50, [p.workshop_id]),
      },
    },
    {
      name: "leaderboard_global_top50",
      query: "the platform-wide top 50 read from the workshop_leaderboard view (reporting, as the owner)",
      baseline: "the live aggregation over all of workshop_progress (30 days, completed)",
      target: "≥ 100× faster",
      met: (o, b) => b / o >= 100,
      ours: {
        label: "global top 50 from the view",
        call: async (pools) => {
          await unsafe(pools.owner, VIEW_GLOBAL_TOP50, []);
        },
        explain: (conn) => unsafe(conn, VIEW_GLOBAL_TOP50, []),
      },
      base: {
        label: "live global aggregation",
        call: async (pools) => {
          await unsafe(pools.owner, LIVE_GLOBAL_TOP50, []);
        },
        explain: (conn) => unsafe(conn, LIVE_GLOBAL_TOP50, []),
        budget_ms: 60_000,
      },
    },
    {
      name: "leads_rls",
      query: "the recent_leads query as strata_app under RLS (app.user_id = a member of the workshop)",
      baseline: "the same query in the same transaction shape as strata_owner (its policy is `USING (true)`)",
      target: "≤ 1.3× the owner's time",
      met: (o, b) => o <= 1.3 * b,
      ours: {
        label: "recent leads as strata_app",
        call: (pools, p) =>
          in_user_tx(
            pools.owner,
            "strata_app",
            p.member,
            RECENT_LEADS("leads"),
            [p.workshop_id, p.status],
            tx_bucket("leads_rls:ours"),
          ),
        explain: (conn, p) =>
          explain_in_user_tx(conn, "strata_app", p.member, RECENT_LEADS("leads"), [p.workshop_id, p.status]),
      },
      base: {
        label: "recent leads as strata_owner",
        call: (pools, p) =>
          in_user_tx(
            pools.owner,
            "strata_owner",
            p.member,
            RECENT_LEADS("leads"),
            [p.workshop_id, p.status],
            tx_bucket("leads_rls:base"),
          ),
        explain: (conn, p) =>
          explain_in_user_tx(conn, "strata_owner", p.member, RECENT_LEADS("leads"), [p.workshop_id, p.status]),
      },
    },
  ];
}
