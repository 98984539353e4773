/**
 * The measured queries and their baselines (issue 3, "Benchmark").
 *
 * Each side of a comparison is a pgbench script per parameter set (see
 * pgbench.ts), with its parameters inline. Queries the application runs on
 * behalf of a signed-in user run the way it should run them: one
 * transaction that names the role and the user and runs the query, sent as
 * one pipeline (one round trip); the whole transaction is what is timed, on
 * both sides.
 */
import type postgres from "postgres";
import { FLAT_EVENTS, LEADS_COPY } from "./setup.ts";
import { make_prng, pick } from "./measure.ts";
import { literal } from "./pgbench.ts";

export interface Fixture {
  /** Every workshop: id, slug and one of its members. */
  readonly workshops: readonly { id: string; slug: string; member: string }[];
  readonly anchor: Date;
}

/** One parameter set (one pgbench script per side): the same sets for a query and its baseline. */
export interface Params {
  readonly workshop_id: string;
  readonly slug: string;
  readonly member: string;
  readonly status: string;
}

export const STATUSES = ["new", "contacted", "qualified", "won", "lost"];

/**
 * `count` parameter sets, from a hot set of `hot` workshops drawn
 * once from all of them. Why a hot set: the targets are warm-cache figures,
 * and the embedded server has shared_buffers = 128 MB while 2,000 distinct
 * workshops touch more than that; the rest would come from the OS page
 * cache, which this VM reclaims proactively (kdamond), so a spread-out
 * sequence measures the disk as much as the query. The warm-up run makes
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
  /** The pgbench script of one call with parameters p. */
  script(p: Params): string;
  /** The role the sessions run as (a startup option); the superuser when absent. */
  readonly role?: string;
  /** Runs the statement(s) once on a reserved superuser connection with auto_explain on. */
  explain(conn: postgres.ReservedSql, p: Params): Promise<unknown>;
  /** Slow baselines run for this long instead of a number of calls. */
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
  /**
   * Run both sides in the same pgbench runs, each transaction picking a
   * script of either side at random: for targets that are a ratio of two
   * similar costs, so both sides share every moment's load. (Not for a slow
   * baseline, which would slow the other side down.)
   */
  readonly interleave?: boolean;
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

/** The application's access path: a workshop's top 50 through the member view. */
const MEMBER_VIEW_TOP50 = `
  select * from public.workshop_leaderboard_member
   where workshop_id = $1
   order by rank, user_id
   limit 50`;

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

/** The application's four queries that get_customer_context replaces (as in tests/schema), for EXPLAIN. */
async function four_queries(sql: postgres.ReservedSql, slug: string): Promise<void> {
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

/** The same four queries as a pgbench script: four round trips, the first one's id feeding the next two. */
function four_queries_script(slug: string): string {
  return [
    `select id as workshop_id, slug, name, settings from public.workshops where slug = ${literal(slug)} \\gset`,
    "select id, name, description, price from public.customer_services " +
    "where workshop_id = :workshop_id::uuid and active order by name, id;",
    "select id, workshop_id, question, answer from public.faq " +
    "where (workshop_id = :workshop_id::uuid or workshop_id is null) and active " +
    "order by workshop_id nulls first, position, id;",
    `select opening_hours from public.workshops where slug = ${literal(slug)};`,
    "",
  ].join("\n");
}

/** A statement ($1, $2... replaced by literals) as one pgbench command. */
function statement(query: string, params: readonly string[]): string {
  const text = query.replace(/\$(\d+)/g, (_, n) => literal(params[Number(n) - 1])).replace(/\s+/g, " ").trim();
  return `${text};\n`;
}

/**
 * The application's transaction for a signed-in user, as one pipeline with
 * a single Sync: role and user set transaction-locally, then the query, in
 * the implicit transaction the Sync ends (no BEGIN or COMMIT to send). One
 * round trip, and PgBouncer's transaction mode keeps it on one server
 * connection.
 */
function user_tx_script(role: string, user: string, query: string, params: readonly string[]): string {
  return [
    "\\startpipeline",
    `select set_config('role', ${literal(role)}, true), set_config('app.user_id', ${literal(user)}, true);`,
    statement(query, params).trimEnd(),
    "\\endpipeline",
    "",
  ].join("\n");
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

export function make_cases(fixture: Fixture): Case[] {
  // "The last 7 days" as a closed window [now - 7 days, now), with the data
  // set's anchor as now. The upper bound matters to pruning: with a lower
  // bound only, the default partition (and every future month) could hold
  // matching rows and is scanned at every call.
  const until = fixture.anchor.toISOString();
  const since = new Date(fixture.anchor.getTime() - 7 * 86_400_000).toISOString();
  const unsafe = (sql: postgres.ReservedSql, q: string, params: unknown[]) =>
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
        role: "strata_app",
        script: (p) => statement("select public.get_customer_context($1) as doc", [p.slug]),
        explain: async (conn, p) => {
          await conn`select set_config('role', 'strata_app', false)`;
          await conn`select public.get_customer_context(${p.slug}) as doc`;
        },
      },
      base: {
        label: "four queries",
        script: (p) => four_queries_script(p.slug),
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
        script: (p) => statement(RECENT_LEADS("leads"), [p.workshop_id, p.status]),
        explain: (conn, p) => unsafe(conn, RECENT_LEADS("leads"), [p.workshop_id, p.status]),
      },
      base: {
        label: "recent leads without the composite index",
        script: (p) => statement(RECENT_LEADS(LEADS_COPY), [p.workshop_id, p.status]),
        explain: (conn, p) => unsafe(conn, RECENT_LEADS(LEADS_COPY), [p.workshop_id, p.status]),
      },
    },
    {
      name: "analytics_7d",
      interleave: true,
      query:
        "one workshop's events of the last 7 days, `created_at >= now - 7 days and created_at < now` with the data " +
        "set's anchor as now, counted by type (as the owner)",
      baseline: `the same query on ${FLAT_EVENTS}: an unpartitioned copy of the same rows with the same indexes`,
      target: "p95 ≤ 10 ms and ≤ 1.2× the baseline",
      partitioned: true,
      met: (o, b) => o <= 10 && o <= 1.2 * b,
      ours: {
        label: "analytics, partitioned",
        script: (p) => statement(ANALYTICS_7D("analytics_events"), [p.workshop_id, since, until]),
        explain: (conn, p) => unsafe(conn, ANALYTICS_7D("analytics_events"), [p.workshop_id, since, until]),
      },
      base: {
        label: "analytics, unpartitioned",
        script: (p) => statement(ANALYTICS_7D(FLAT_EVENTS), [p.workshop_id, since, until]),
        explain: (conn, p) => unsafe(conn, ANALYTICS_7D(FLAT_EVENTS), [p.workshop_id, since, until]),
      },
    },
    {
      name: "leaderboard_top50",
      query: "a workshop's top 50 from the view `workshop_leaderboard_member` as strata_app, a member of that " +
        "workshop, in the application's pipelined transaction",
      baseline: "the live aggregation over workshop_progress (30 days, completed, ranked, joined to users) " +
        "for that workshop, in the same role and transaction",
      target: "p95 ≤ 1 ms",
      met: (o) => o <= 1,
      ours: {
        label: "member view",
        script: (p) => user_tx_script("strata_app", p.member, MEMBER_VIEW_TOP50, [p.workshop_id]),
        explain: (conn, p) => explain_in_user_tx(conn, "strata_app", p.member, MEMBER_VIEW_TOP50, [p.workshop_id]),
      },
      base: {
        label: "live workshop aggregation",
        script: (p) => user_tx_script("strata_app", p.member, LIVE_WORKSHOP_TOP50, [p.workshop_id]),
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
        script: () => statement(VIEW_GLOBAL_TOP50, []),
        explain: (conn) => unsafe(conn, VIEW_GLOBAL_TOP50, []),
      },
      base: {
        label: "live global aggregation",
        script: () => statement(LIVE_GLOBAL_TOP50, []),
        explain: (conn) => unsafe(conn, LIVE_GLOBAL_TOP50, []),
        budget_ms: 60_000,
      },
    },
    {
      name: "leads_rls",
      interleave: true,
      query: "the recent_leads query as strata_app under RLS (app.user_id = a member of the workshop), in the " +
        "application's pipelined transaction",
      baseline: "the same query in the same transaction as strata_owner (its policy is `USING (true)`)",
      target: "≤ 1.3× the owner's time",
      met: (o, b) => o <= 1.3 * b,
      ours: {
        label: "recent leads as strata_app",
        script: (p) => user_tx_script("strata_app", p.member, RECENT_LEADS("leads"), [p.workshop_id, p.status]),
        explain: (conn, p) =>
          explain_in_user_tx(conn, "strata_app", p.member, RECENT_LEADS("leads"), [p.workshop_id, p.status]),
      },
      base: {
        label: "recent leads as strata_owner",
        script: (p) => user_tx_script("strata_owner", p.member, RECENT_LEADS("leads"), [p.workshop_id, p.status]),
        explain: (conn, p) =>
          explain_in_user_tx(conn, "strata_owner", p.member, RECENT_LEADS("leads"), [p.workshop_id, p.status]),
      },
    },
  ];
}
