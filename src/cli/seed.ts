/**
 * `deno task seed --scale small|medium|large [--seed N]`: a deterministic
 * data set for development, tests and benchmarks, generated on the server.
 */
import { COMMON_FLAGS, parseFlags, positiveInt } from "./args.ts";
import { ExitCode } from "./exit_code.ts";
import { consoleOutput, formatMs } from "./output.ts";
import { migrationTarget } from "./target.ts";
import { loadConfig } from "../config/load.ts";
import { Session } from "../db/session.ts";
import { UsageError } from "../errors.ts";
import { type ScaleName, SCALES } from "../seed/scales.ts";
import { seed } from "../seed/seed.ts";

export const SEED_USAGE = `deno task seed --scale small|medium|large [--seed N] [--anchor ISO-TIME] [--reset]
        [--database-url URL] [--config PATH] [--json]
  Fills the (migrated) database with a deterministic data set; the same
  --seed and --anchor give the same rows. --anchor is the data set's "now"
  (default: today, 00:00 UTC). Refuses to touch tables that hold rows unless
  --reset is given, which empties them first. Prints rows and time per table.`;

/** Runs the command; returns the exit code. */
export async function seedCommand(args: string[]): Promise<number> {
  const { values } = parseFlags(args, {
    ...COMMON_FLAGS,
    scale: { type: "string" },
    seed: { type: "string" },
    anchor: { type: "string" },
    reset: { type: "boolean", default: false },
  });
  if (values.help) {
    console.log(SEED_USAGE);
    return ExitCode.Ok;
  }
  const scale = values.scale;
  if (!scale || !Object.hasOwn(SCALES, scale)) {
    throw new UsageError(`--scale must be one of ${Object.keys(SCALES).join(", ")}, got ${JSON.stringify(scale)}`);
  }
  const seedValue = values.seed === "0" ? 0 : positiveInt("--seed", values.seed) ?? 1;
  const anchor = parseAnchor(values.anchor);
  const out = consoleOutput(Boolean(values.json));

  const config = await loadConfig({ path: values.config });
  const target = await migrationTarget(config, {
    flagUrl: values["database-url"],
    log: (line) => out.line(line),
    waitMs: 0,
  });
  const session = await Session.open(target.url, { applicationName: "strata seed" });
  const progress = Deno.stderr.isTerminal() && !out.json;
  const encoder = new TextEncoder();
  const started = performance.now();
  try {
    out.line(`seeding scale ${scale} (seed ${seedValue}, anchor ${anchor.toISOString()})`);
    const results = await seed(session, {
      scale: scale as ScaleName,
      seed: seedValue,
      anchor,
      reset: values.reset,
      onProgress: (table, done, total, ms) => {
        if (!progress) return;
        const pct = total === 0 ? 100 : Math.floor((done / total) * 100);
        const line = `  ${table.padEnd(22)} ${fmt(done).padStart(12)} / ${fmt(total).padEnd(12)} ${
          String(pct).padStart(3)
        }%  ${formatMs(ms)}`;
        Deno.stderr.writeSync(encoder.encode(`\r\x1b[2K${line}${done >= total ? "\n" : ""}`));
      },
    });
    const totalMs = performance.now() - started;
    out.data({ scale, seed: seedValue, anchor: anchor.toISOString(), tables: results, total_ms: Math.round(totalMs) });
    out.line("");
    out.line(`  ${"table".padEnd(22)} ${"rows".padStart(12)}  time`);
    for (const r of results) out.line(`  ${r.table.padEnd(22)} ${fmt(r.rows).padStart(12)}  ${formatMs(r.ms)}`);
    out.line(
      `  ${"total".padEnd(22)} ${fmt(results.reduce((n, r) => n + r.rows, 0)).padStart(12)}  ${formatMs(totalMs)}`,
    );
    return ExitCode.Ok;
  } finally {
    await session.close();
  }
}

function parseAnchor(value: string | undefined): Date {
  if (value === undefined) {
    const now = new Date();
    return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  }
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) {
    throw new UsageError(`--anchor expects an ISO time such as 2026-11-21T00:00:00Z, got ${JSON.stringify(value)}`);
  }
  return date;
}

function fmt(n: number): string {
  return n.toLocaleString("en-US");
}
