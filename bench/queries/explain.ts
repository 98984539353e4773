/**
 * EXPLAIN (ANALYZE, BUFFERS) capture and one-line summaries.
 *
 * Plans are captured with auto_explain rather than by prefixing EXPLAIN:
 * one of the measured queries is a function call (get_customer_context)
 * whose EXPLAIN shows only the call;
 * auto_explain with log_nested_statements logs the plan of the statements
 * inside them, and client_min_messages = log brings those LOG lines back to
 * this connection instead of the server log. It also runs the statement
 * exactly as the benchmark does (same role, same app.user_id, same
 * transaction), which a separate EXPLAIN of a copied body could not promise.
 */
import type postgres from "postgres";

// deno-lint-ignore no-explicit-any
type PlanNode = Record<string, any>;

export interface CapturedPlan {
  readonly query_text: string;
  readonly plan: PlanNode;
  readonly duration_ms: number;
}

/**
 * Runs `body` on a reserved connection with auto_explain logging every
 * statement's plan (with actual rows, timing and buffers), and returns the
 * plans logged, innermost first (PostgreSQL logs a nested statement when it
 * finishes, before the statement that called it).
 */
export async function capture_plans(
  sql: postgres.Sql,
  body: (conn: postgres.ReservedSql) => Promise<unknown>,
): Promise<CapturedPlan[]> {
  const plans: CapturedPlan[] = [];
  const conn = await sql.reserve();
  try {
    // LOAD and the auto_explain settings need a superuser: the pool used for
    // plans connects as one, and body() may then switch to the app's role.
    await conn.unsafe("load 'auto_explain'");
    await conn.unsafe(`
      set auto_explain.log_min_duration = 0;
      set auto_explain.log_analyze = on;
      set auto_explain.log_buffers = on;
      set auto_explain.log_timing = on;
      set auto_explain.log_nested_statements = on;
      set auto_explain.log_format = json`);
    await conn.unsafe("set client_min_messages = log");
    const listener = (notice: postgres.Notice) => {
      const text = String(notice.message ?? "");
      const m = /^duration: ([\d.]+) ms\s+plan:\s*([\s\S]*)$/.exec(text);
      if (!m) return;
      try {
        const parsed = JSON.parse(m[2]);
        plans.push({ query_text: parsed["Query Text"] ?? "", plan: parsed.Plan, duration_ms: Number(m[1]) });
      } catch {
        // A plan that is not JSON is not ours to summarize.
      }
    };
    // The first run of a session pays for catalog lookups and for compiling
    // the PL/pgSQL functions, which would show as hundreds of buffer hits;
    // the plans kept are those of a second, identical run.
    await body(conn);
    notice_listeners.add(listener);
    try {
      await body(conn);
    } finally {
      notice_listeners.delete(listener);
      await conn.unsafe("reset client_min_messages").catch(() => {});
    }
  } finally {
    // The settings are session-level: RESET ALL (not DISCARD ALL, which
    // would drop the prepared statements postgres.js believes it still has)
    // puts the connection back as it was, role included.
    // (RESET ALL leaves the role alone: it is reset first, explicitly.)
    await conn.unsafe("reset role").catch(() => {});
    await conn.unsafe("set auto_explain.log_min_duration = -1").catch(() => {});
    await conn.unsafe("reset all").catch(() => {});
    conn.release();
  }
  return plans;
}

/**
 * postgres.js takes one `onnotice` per pool; the pool used for plans routes
 * its notices here so capture_plans can listen while it runs.
 */
export const notice_listeners = new Set<(notice: postgres.Notice) => void>();
export function route_notice(notice: postgres.Notice): void {
  for (const listener of notice_listeners) listener(notice);
}

function walk(node: PlanNode, visit: (n: PlanNode, depth: number) => void, depth = 0): void {
  visit(node, depth);
  for (const child of node.Plans ?? []) walk(child, visit, depth + 1);
}

/** The scans of a plan as "Index Only Scan using idx on rel (rows n)". */
function scans(plan: PlanNode): string[] {
  const out = new Map<string, number>();
  walk(plan, (n) => {
    const type: string = n["Node Type"];
    if (!/Scan$/.test(type) || type === "Subquery Scan" || type === "CTE Scan") return;
    if (type === "Function Scan" || type === "Result") return;
    const never = n["Actual Loops"] === 0;
    const rel = n["Relation Name"] ?? "";
    const idx = n["Index Name"] ? ` using ${n["Index Name"]}` : "";
    const key = `${type}${idx}${rel ? ` on ${rel}` : ""}${never ? " (never executed)" : ""}`;
    const rows = Number(n["Actual Rows"] ?? 0) * Number(n["Actual Loops"] ?? 1);
    out.set(key, (out.get(key) ?? 0) + rows);
  });
  return [...out].map(([k, rows]) => k.endsWith("(never executed)") ? k : `${k} (${fmt_rows(rows)} rows)`);
}

function fmt_rows(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}

/** Partitions of `parent` scanned by the plan, and the Subplans Removed at executor start-up. */
function partitions(plan: PlanNode, parent_prefix: string): { scanned: Set<string>; removed: number } {
  const scanned = new Set<string>();
  let removed = 0;
  walk(plan, (n) => {
    if (typeof n["Subplans Removed"] === "number") removed += n["Subplans Removed"];
    const rel: string | undefined = n["Relation Name"];
    if (rel && rel.startsWith(parent_prefix + "_") && n["Actual Loops"] !== 0) scanned.add(rel);
  });
  return { scanned, removed };
}

export interface SummaryOptions {
  /** Name of a partitioned parent whose pruning to report, and its partition count. */
  readonly partitioned?: { parent: string; total: number };
}

/**
 * One line per captured plan: the scans (index used, rows), partitions
 * scanned out of the total, shared buffers hit/read, and the time.
 */
export function summarize_plans(plans: readonly CapturedPlan[], options: SummaryOptions = {}): string {
  // Statements that only call a function, set a setting or start/end the
  // transaction say nothing about the access path.
  const informative = plans.filter((p) => scans(p.plan).length > 0);
  const chosen = informative.length > 0 ? informative : plans.slice(0, 1);
  return chosen.map((p) => summarize_one(p, options)).join("; ");
}

function summarize_one(p: CapturedPlan, options: SummaryOptions): string {
  const parts: string[] = [];
  const sc = scans(p.plan);
  if (options.partitioned) {
    const { scanned, removed } = partitions(p.plan, options.partitioned.parent);
    // The plan names only the partitions it kept at planning time; the
    // others (and those "Subplans Removed" at start-up) were pruned.
    parts.push(
      `${scanned.size} of ${options.partitioned.total} partitions of ${options.partitioned.parent} scanned` +
        (removed > 0
          ? ` (${removed} removed at executor start-up, the rest at planning)`
          : " (the rest pruned at planning)"),
    );
    const distinct = new Set(sc.map((s) => s.replace(/ on analytics_events_\S+/, " on <partition>")));
    parts.push([...distinct].slice(0, 3).join(", "));
  } else {
    parts.push(sc.slice(0, 4).join(", ") || String(p.plan["Node Type"]));
  }
  const hit = Number(p.plan["Shared Hit Blocks"] ?? 0);
  const read = Number(p.plan["Shared Read Blocks"] ?? 0);
  parts.push(`buffers hit ${fmt_rows(hit)} read ${fmt_rows(read)}`);
  parts.push(`${p.duration_ms.toFixed(3)} ms`);
  return parts.join(", ");
}

/** Summary of a plain (not executed) EXPLAIN (FORMAT JSON) plan, for one-shot statements. */
export function summarize_estimate(plan: PlanNode): string {
  const nodes: string[] = [];
  walk(plan, (n) => {
    const rel = n["Relation Name"] ? ` on ${n["Relation Name"]}` : "";
    const idx = n["Index Name"] ? ` using ${n["Index Name"]}` : "";
    nodes.push(`${n["Node Type"]}${idx}${rel} (est. ${fmt_rows(Number(n["Plan Rows"] ?? 0))} rows)`);
  });
  return nodes.join(" > ");
}
