/**
 * bench/results/queries.json (the issue's format, with extra fields) and
 * bench/results/queries.md (the section pasted into bench/README.md).
 */

export interface Row {
  name: string;
  concurrency: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  baseline_p95_ms: number;
  /** Baseline p95 over ours: above 1, ours is faster. */
  ratio: number;
  target: string;
  met: boolean;
  calls: number;
  baseline_p50_ms: number;
  baseline_p99_ms: number;
  baseline_calls: number;
  /** Calls completed per second over the measured run (all connections together). */
  calls_per_s?: number;
  baseline_calls_per_s?: number;
  explain: string;
  baseline_explain: string;
  query: string;
  baseline: string;
  /** A one-shot operation, repeated `calls` times: `ratio` is then p50 over p50 (see retention.ts). */
  one_shot?: boolean;
  /** retention_drop_month: the DROP TABLE after the detach, and the DELETE's ratio to both together. */
  drop_ms?: number;
  ratio_with_drop?: number;
  /** retention_drop_month: the DELETE plus the VACUUM that gives its space back. */
  baseline_delete_plus_vacuum_ms?: number;
  ratio_vs_delete_plus_vacuum?: number;
  round_trips?: { ours: number; baseline: number };
  projected_1ms_rtt_ms?: { ours_p95: number; baseline_p95: number };
  notes?: string;
}

export interface Report {
  scale: string;
  postgres_version: string;
  generated_at: string;
  command: string;
  anchor: string;
  calls_per_query: number;
  /** The load generator, e.g. "pgbench (PostgreSQL) 15.18". */
  load_generator: string;
  hot_workshops: number;
  machine: string;
  queries: Row[];
}

function ms(v: number): string {
  if (v >= 100) return v.toFixed(0);
  if (v >= 10) return v.toFixed(1);
  return v.toFixed(2);
}

function ratio(v: number): string {
  return v >= 100 ? `${v.toFixed(0)}×` : `${v.toFixed(2)}×`;
}

/** The Markdown section: command, table, EXPLAIN summaries and the comparison with the original promise. */
export function render_markdown(report: Report, others: readonly Report[] = []): string {
  const out: string[] = [];
  out.push("## queries", "");
  out.push(
    `Hot queries against a seeded \`${report.scale}\` data set (PostgreSQL ${report.postgres_version}), ` +
      `measured ${report.generated_at.slice(0, 16).replace("T", " ")} UTC with:`,
    "",
    "```sh",
    report.command,
    "```",
    "",
    `Load generator: ${report.load_generator}, prepared protocol, one script per parameter set (workshop, ` +
      `slug, member, status) for a hot set of ${report.hot_workshops} workshops picked with a fixed seed, each ` +
      "transaction picking a script at random (fixed --random-seed), the same sets for a query and its baseline. " +
      "Why pgbench: postgres.js under Deno costs ~0.09 ms of client CPU per round trip and, at concurrency 8, its " +
      "one event loop queues every reply behind the others' JavaScript; pgbench (C) measures the database. Why a " +
      "hot set: the targets are warm-cache figures and the embedded server's shared_buffers is 128 MB. Each side " +
      "first runs a warm-up in which every session runs every script and a quarter of the calls more; then each side is measured in two 3-second runs alternating between the query " +
      "and its baseline (load changes fall on both alike), dropping each run's first 0.5 s, each session's first 5 " +
      "transactions and its first use of each script (sessions starting, statement preparation and PL/pgSQL plan " +
      `caching, long done in an application's pooled sessions); at least ${report.calls_per_query} calls are kept ` +
      "per side (see the calls columns). A slow baseline runs for a time budget " +
      "instead (see its calls column). Where the target is a ratio between two similar costs (analytics_7d, " +
      "leads_rls), both sides run in the same pgbench runs instead, each transaction picking a script of either " +
      "side at random (64 parameter sets per side), so both share every moment's load. Concurrency 1 is one connection; 8 is eight, each starting its next " +
      "transaction when the previous returns. Transactions for a signed-in user (leaderboard_top50, leads_rls) are " +
      "set_config of role and user (transaction-local) and the query sent as one pipeline with a single Sync, so " +
      "one implicit transaction in one round trip, timed whole on both sides. Times are client-side over loopback, on " +
      report.machine + ". `ratio` = baseline p95 / " +
      "ours p95 (above 1: ours is faster), except for the one-shot measure (retention_drop_month): a single shot of " +
      "it varies several-fold between runs on this VM, so it is repeated from the same settled state, its p50 is " +
      "the median run, its p95 and p99 the slowest, and its ratio is median over median.",
    "",
  );
  out.push(render_table(report));
  for (const other of others) {
    out.push("", `At \`${other.scale}\` (${other.generated_at.slice(0, 16).replace("T", " ")} UTC):`, "");
    out.push(render_table(other));
  }
  out.push("", "What each row compares:", "");
  const seen = new Set<string>();
  for (const r of report.queries) {
    if (seen.has(r.name)) continue;
    seen.add(r.name);
    out.push(`- \`${r.name}\`: ${r.query}. Baseline: ${r.baseline}.${r.notes ? ` ${r.notes}` : ""}`);
  }
  out.push("", "### EXPLAIN (ANALYZE, BUFFERS) summaries", "");
  out.push(
    "Captured with auto_explain (`log_nested_statements`), so the plans inside the functions are shown; one " +
      "representative call each, at concurrency 1.",
    "",
  );
  seen.clear();
  for (const r of report.queries) {
    if (seen.has(r.name)) continue;
    seen.add(r.name);
    out.push(`- \`${r.name}\`: ${r.explain}`);
    out.push(`  - baseline: ${r.baseline_explain}`);
  }
  const cc = report.queries.find((r) => r.name === "customer_context" && r.concurrency === 1);
  if (cc?.projected_1ms_rtt_ms) {
    out.push(
      "",
      "### One round trip instead of four",
      "",
      `Projected at a 1 ms network round trip (p95 + round trips × 1 ms): get_customer_context ` +
        `${ms(cc.projected_1ms_rtt_ms.ours_p95)} ms (1 round trip) vs the four queries ` +
        `${ms(cc.projected_1ms_rtt_ms.baseline_p95)} ms (4 round trips).`,
    );
  }
  out.push("", "### Against the platform's original promise", "");
  out.push(...promise_lines(report));
  return out.join("\n") + "\n";
}

function render_table(report: Report): string {
  const lines = [
    "| name | concurrency | p50 ms | p95 ms | p99 ms | calls | baseline p95 ms | baseline calls | ratio | target | met? |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
  ];
  for (const r of report.queries) {
    lines.push(
      `| \`${r.name}\` | ${r.concurrency} | ${ms(r.p50_ms)} | ${ms(r.p95_ms)} | ${ms(r.p99_ms)} | ${
        r.one_shot ? `${r.calls} (one-shot runs)` : r.calls
      } | ${ms(r.baseline_p95_ms)} | ${r.one_shot ? `${r.baseline_calls} (one-shot runs)` : r.baseline_calls} | ${
        ratio(r.ratio)
      } | ${r.target} | ${r.met ? "yes" : "**no**"} |`,
    );
  }
  return lines.join("\n");
}

function promise_lines(report: Report): string[] {
  const p95 = (name: string, c: number) => report.queries.find((r) => r.name === name && r.concurrency === c)?.p95_ms;
  const lines: string[] = [];
  const judge = (label: string, name: string, promise: string, low: number) => {
    const c1 = p95(name, 1);
    const c8 = p95(name, 8);
    if (c1 === undefined) return;
    const bound = low / 10;
    const part = (v: number | undefined, c: number) =>
      v === undefined
        ? ""
        : `p95 ${ms(v)} ms at concurrency ${c} (${(low / v).toFixed(0)}× under ${low} ms: ${
          v <= bound ? "an order of magnitude better" : "**less than an order of magnitude**"
        })`;
    lines.push(
      `- ${label}: promised ${promise}. Measured ${[part(c1, 1), part(c8, 8)].filter(Boolean).join("; ")}. ` +
        `An order of magnitude better means ≤ ${bound} ms.`,
    );
  };
  judge("Customer context", "customer_context", "50–100 ms", 50);
  judge("Analytics (the 7-day query)", "analytics_7d", "under 500 ms", 500);
  return lines;
}
