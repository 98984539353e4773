import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import { cpus, loadavg } from "node:os";
import { ensureDbmate } from "./lib/dbmate.ts";
import { writeMigrations } from "./lib/migration_fixture.ts";
import {
  type Admin,
  createDatabase,
  dropDatabase,
  embeddedServerUrl,
  openAdmin,
  otherActiveSessions,
  scalar,
  serverVersion,
  withDatabase,
  withoutSsl,
} from "./lib/postgres.ts";
import { cleanEnv, requireGnuTime, run, tail, type TimedRun, timedRun } from "./lib/process.ts";
import { machineInfo, markdownTable, textTable, updateReadmeSection } from "./lib/report.ts";
import { median, round } from "./lib/stats.ts";

export const MIGRATE_USAGE =
  `deno task bench migrate [--count 500] [--runs 5] [--noop-runs 5] [--cold-runs 3] [--warmup 1]
                         [--database-url URL] [--deno-flags="FLAGS"]
  Strata vs dbmate applying --count generated migrations to a fresh database,
  median of --runs repetitions (alternating which tool goes first), plus
  Strata's no-op and cold-clone \`deno task migrate\`. Writes
  bench/results/migrate.json and the "migrate" section of bench/README.md.
  --database-url  server to benchmark on (default: the repository's embedded
                  PostgreSQL, started with \`deno task db start\`)
  --deno-flags    extra \`deno run\` flags for Strata, after those of the migrate task in
                  deno.json (e.g. --deno-flags="--v8-flags=--max-semi-space-size=1"), to try
                  a change: results then go to bench/work/migrate/experiment.json and the
                  README is left alone`;

const TARGETS = { ratio: 1.0, strata_peak_rss_mb: 150, noop_ms: 500, cold_ms: 5000 } as const;

const REPO = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
const WORK = join(REPO, "bench", "work");
const PROJECT = join(WORK, "migrate");
const RESULTS = join(REPO, "bench", "results", "migrate.json");
const EXPERIMENT = join(PROJECT, "experiment.json");
const README = join(REPO, "bench", "README.md");

type Tool = "strata" | "dbmate";

interface Options {
  readonly count: number;
  readonly runs: number;
  readonly noopRuns: number;
  readonly coldRuns: number;
  readonly warmup: number;
  readonly databaseUrl: string | undefined;
  readonly denoFlags: readonly string[];
}

interface Sample {
  readonly ms: number;
  readonly cpu_ms: number;
  readonly rss_mb: number;
}

function sample(r: TimedRun): Sample {
  return { ms: round(r.ms), cpu_ms: Math.round(r.cpuMs), rss_mb: round(r.rssKb / 1024) };
}

interface Context {
  readonly url: string;
  readonly admin: Admin;
  readonly dbmate: string;
  readonly count: number;
  /** `deno` arguments running Strata's migrate, before `--database-url`. */
  readonly strataArgs: readonly string[];
}

/**
 * Cleanups for what a run leaves behind on a shared server or on disk,
 * also run on Ctrl-C so an interrupted benchmark drops its databases.
 */
const cleanups = new Map<string, () => Promise<void>>();

/** `deno task bench migrate`: returns the exit code. */
export async function migrateBench(args: string[]): Promise<number> {
  let options: Options | null;
  try {
    options = parseOptions(args);
  } catch (error) {
    console.error(`error: ${(error as Error).message}\n\nusage: ${MIGRATE_USAGE}`);
    return 2;
  }
  if (options === null) return 0;

  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
    console.error("\ninterrupted: cleaning up");
    runCleanups().finally(() => Deno.exit(130));
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  try {
    requireGnuTime();
    await benchmark(options);
    return 0;
  } catch (error) {
    // The children die with us on Ctrl-C; their failure is not news.
    if (interrupted) return 130;
    console.error(`error: ${(error as Error).message}`);
    return 1;
  } finally {
    await runCleanups();
    Deno.removeSignalListener("SIGINT", onInterrupt);
  }
}

/** The options, or null after printing the usage for `--help`. */
function parseOptions(args: string[]): Options | null {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      count: { type: "string", default: "500" },
      runs: { type: "string", default: "5" },
      "noop-runs": { type: "string", default: "5" },
      "cold-runs": { type: "string", default: "3" },
      warmup: { type: "string", default: "1" },
      "database-url": { type: "string" },
      "deno-flags": { type: "string", default: "" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    console.log(MIGRATE_USAGE);
    return null;
  }
  if (positionals.length > 0) throw new Error(`unexpected argument ${JSON.stringify(positionals[0])}`);
  const int = (flag: string, value: string, min: number) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${flag} expects an integer >= ${min}, got ${value}`);
    return n;
  };
  return {
    count: int("count", values.count, 1),
    runs: int("runs", values.runs, 1),
    noopRuns: int("noop-runs", values["noop-runs"], 1),
    coldRuns: int("cold-runs", values["cold-runs"], 0),
    warmup: int("warmup", values.warmup, 0),
    databaseUrl: values["database-url"],
    denoFlags: values["deno-flags"].split(/\s+/).filter(Boolean),
  };
}

async function benchmark(options: Options): Promise<void> {
  const loadBefore = loadavg()[0];
  // Two cores shared with PostgreSQL: anything else running skews the ratio, so say so.
  if (loadBefore > cpus().length / 2) {
    log(`warning: load average ${loadBefore.toFixed(2)} on ${cpus().length} CPUs; results will be noisy`);
  }
  const dbmate = await ensureDbmate(join(WORK, "tools"));
  const url = options.databaseUrl ?? await embeddedServerUrl(REPO);
  const admin = openAdmin(url);
  cleanups.set("admin", () => admin.end({ timeout: 5 }));
  const postgresVersion = await serverVersion(admin);
  const busyBefore = await otherActiveSessions(admin);
  if (busyBefore > 0) log(`warning: ${busyBefore} other session(s) are running statements on this server`);
  await writeMigrations(join(PROJECT, "migrations"), options.count);
  const strataArgs = await strataMigrateArgs(options.denoFlags);
  const ctx: Context = { url, admin, dbmate: dbmate.binary, count: options.count, strataArgs };
  log(
    `${options.count} migrations in ${join(PROJECT, "migrations")}; PostgreSQL ${postgresVersion}; ${dbmate.version}`,
  );

  // Discarded: the first runs pay for Deno's module cache and the OS page cache.
  for (let i = 0; i < options.warmup; i++) {
    for (const tool of ["strata", "dbmate"] as const) {
      const name = `bench_migrate_warmup_${tool}_${Deno.pid}`;
      const r = await applyAll(ctx, tool, name);
      await forget(ctx, name);
      log(`warm-up ${tool}: ${r.ms.toFixed(0)} ms`);
    }
  }

  const samples: Record<Tool, Sample[]> = { strata: [], dbmate: [] };
  const order: string[] = [];
  const kept: Record<Tool, string> = { strata: "", dbmate: "" };
  for (let r = 0; r < options.runs; r++) {
    const tools: Tool[] = r % 2 === 0 ? ["strata", "dbmate"] : ["dbmate", "strata"];
    order.push(`${tools[0]} first`);
    for (const tool of tools) {
      const name = `bench_migrate_${tool}_${Deno.pid}_${r}`;
      const result = await applyAll(ctx, tool, name);
      samples[tool].push(sample(result));
      log(
        `run ${r + 1}/${options.runs} ${tool}: ${result.ms.toFixed(0)} ms, cpu ${result.cpuMs.toFixed(0)} ms, ` +
          `${(result.rssKb / 1024).toFixed(0)} MB`,
      );
      // The last run's databases stay for the no-op measurements.
      if (r === options.runs - 1) kept[tool] = name;
      else await forget(ctx, name);
    }
  }

  const noop: Record<Tool, Sample[]> = { strata: [], dbmate: [] };
  for (let i = 0; i < options.noopRuns; i++) {
    for (const tool of ["strata", "dbmate"] as const) {
      const result = await noopRun(ctx, tool, kept[tool]);
      noop[tool].push(sample(result));
    }
    log(`no-op ${i + 1}/${options.noopRuns}: strata ${noop.strata.at(-1)!.ms} ms, dbmate ${noop.dbmate.at(-1)!.ms} ms`);
  }
  for (const name of Object.values(kept)) await forget(ctx, name);

  const cold: (Sample & { applied: string })[] = [];
  for (let i = 0; i < options.coldRuns; i++) {
    const result = await coldRun();
    cold.push({ ...sample(result), applied: result.applied });
    log(`cold ${i + 1}/${options.coldRuns}: ${result.ms.toFixed(0)} ms (${result.applied})`);
  }

  const results = summarise(options, samples, order, noop, cold, {
    strataCommand: `deno ${strataArgs.join(" ").replaceAll(REPO, "<repo>")} --database-url URL`,
    strata: await strataRevision(),
    postgresVersion,
    dbmateVersion: dbmate.version,
    external: options.databaseUrl !== undefined,
    load: [round(loadBefore, 2), round(loadavg()[0], 2)],
    otherSessions: [busyBefore, await otherActiveSessions(admin)],
  });
  const rows = summaryRows(results);
  console.log(`\n${textTable(ROW_HEADER, rows)}\n`);
  // An experiment must not replace the published numbers of Strata as committed.
  if (options.denoFlags.length > 0) {
    await Deno.writeTextFile(EXPERIMENT, `${JSON.stringify(results, null, 2)}\n`);
    console.log(`experiment (--deno-flags): wrote ${EXPERIMENT}; README and bench/results left alone`);
    return;
  }
  await Deno.mkdir(join(REPO, "bench", "results"), { recursive: true });
  await Deno.writeTextFile(RESULTS, `${JSON.stringify(results, null, 2)}\n`);
  await updateReadmeSection(README, "migrate", readmeSection(results, rows));
  console.log(`wrote ${RESULTS} and the "migrate" section of ${README}`);
}

/** Creates database `name` and times `tool` applying every migration to it; throws unless all were recorded. */
async function applyAll(ctx: Context, tool: Tool, name: string): Promise<TimedRun> {
  await createDatabase(ctx.admin, name);
  cleanups.set(name, () => dropDatabase(ctx.admin, name));
  const url = withDatabase(ctx.url, name);
  const result = await runTool(ctx, tool, url);
  await expectRecorded(tool, url, ctx.count, result);
  return result;
}

/** A run against an up-to-date database: what `deno task migrate` costs on every deploy and dev restart. */
async function noopRun(ctx: Context, tool: Tool, name: string): Promise<TimedRun> {
  const url = withDatabase(ctx.url, name);
  const result = await runTool(ctx, tool, url);
  if (tool === "strata" && !result.stdout.includes("nothing to apply")) {
    throw new Error(`no-op strata run applied something:\n${tail(result.stdout)}`);
  }
  await expectRecorded(tool, url, ctx.count, result);
  return result;
}

function runTool(ctx: Context, tool: Tool, url: string): Promise<TimedRun> {
  // Both tools run from the project directory, as a user would.
  if (tool === "strata") {
    return timedRun(Deno.execPath(), [...ctx.strataArgs, "--database-url", url], { cwd: PROJECT, env: cleanEnv() });
  }
  return timedRun(
    ctx.dbmate,
    ["--url", withoutSsl(url), "--migrations-dir", "migrations", "--no-dump-schema", "up"],
    { cwd: PROJECT, env: cleanEnv() },
  );
}

/**
 * The `deno run` of the `migrate` task in deno.json, so the benchmark
 * measures the runtime flags users get (`--v8-flags`, ...), pointed at the
 * repository from the benchmark's project directory.
 */
async function strataMigrateArgs(extraFlags: readonly string[]): Promise<string[]> {
  const config = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
  const task: unknown = config.tasks?.migrate;
  const words = typeof task === "string" ? task.trim().split(/\s+/) : [];
  const main = words.indexOf("src/main.ts");
  if (words[0] !== "deno" || words[1] !== "run" || main < 0) {
    throw new Error(`cannot read the migrate task of deno.json as "deno run [flags] src/main.ts ...": ${task}`);
  }
  const flags = words.slice(2, main).filter((w) => w !== "--quiet" && w !== "-q");
  return [
    "run",
    ...flags,
    "--quiet",
    ...extraFlags,
    "--config",
    join(REPO, "deno.json"),
    join(REPO, "src", "main.ts"),
    ...words.slice(main + 1),
  ];
}

/** A benchmark that silently failed would report a fast time: check the exit code and the history. */
async function expectRecorded(tool: Tool, url: string, count: number, result: TimedRun): Promise<void> {
  if (result.code !== 0) {
    throw new Error(`${tool} exited with ${result.code}:\n${tail(result.stdout)}\n${tail(result.stderr)}`);
  }
  const query = tool === "strata"
    ? "select count(*) from strata.schema_history where kind = 'versioned'"
    : "select count(*) from schema_migrations";
  const recorded = await scalar(url, query);
  if (recorded !== count) {
    throw new Error(
      `${tool} recorded ${recorded} of ${count} migrations:\n${tail(result.stdout)}\n${tail(result.stderr)}`,
    );
  }
}

async function forget(ctx: Context, name: string): Promise<void> {
  await dropDatabase(ctx.admin, name);
  cleanups.delete(name);
}

/**
 * `deno task migrate` in a fresh clone with no DATABASE_URL: initdb of a new
 * embedded data directory, server start, and Deno populating node_modules
 * from its (warm) global cache.
 */
async function coldRun(): Promise<TimedRun & { applied: string }> {
  const dir = await Deno.makeTempDir({ prefix: "strata_bench_cold_" });
  // A checkout normally sits in a traversable directory; mkdtemp's 0700 is not typical.
  await Deno.chmod(dir, 0o755);
  const clone = join(dir, "strata");
  const env = cleanEnv({ STRATA_EMBEDDED_PORT: String(freePort()) });
  const key = `cold:${dir}`;
  cleanups.set(key, async () => {
    await run(Deno.execPath(), ["task", "--quiet", "db", "stop"], { cwd: clone, env, clearEnv: true })
      .catch((error) => log(`warning: cannot stop the clone's server: ${error.message}`));
    await Deno.remove(dir, { recursive: true });
  });
  try {
    await run("git", ["clone", "-q", REPO, clone]);
    const result = await timedRun(Deno.execPath(), ["task", "migrate"], { cwd: clone, env });
    const output = `${result.stdout}\n${result.stderr}`;
    if (result.code !== 0 || !output.includes("initialising embedded PostgreSQL")) {
      throw new Error(`cold \`deno task migrate\` exited with ${result.code} or did not initdb:\n${tail(output)}`);
    }
    const url = output.match(/^database: (postgres:\/\/\S+)$/m)?.[1];
    if (!url) throw new Error(`cold \`deno task migrate\` printed no database URL:\n${tail(output)}`);
    // What the committed project applies is part of the cold cost, so it is recorded with the time.
    const recorded = await scalar(url, "select count(*) from strata.schema_history");
    const summary = output.match(/^(\d+ migration\(s\) and \d+ repeatable\(s\)) applied/m)?.[1] ??
      (output.includes("nothing to apply") ? "nothing" : "?");
    return { ...result, applied: `${summary} applied, ${recorded} history rows` };
  } finally {
    await cleanups.get(key)!();
    cleanups.delete(key);
  }
}

/** What was measured: the benchmark runs the working tree, which may differ from the commit. */
async function strataRevision(): Promise<{ commit: string; uncommitted_src: string[] }> {
  const commit = (await run("git", ["rev-parse", "--short", "HEAD"], { cwd: REPO })).trim();
  const status = await run("git", ["status", "--porcelain", "--", "src", "deno.json", "deno.lock"], { cwd: REPO });
  return { commit, uncommitted_src: status.split("\n").filter(Boolean).map((line) => line.slice(3)) };
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

async function runCleanups(): Promise<void> {
  // The admin connection goes last: dropping databases needs it.
  const entries = [...cleanups.entries()].sort(([a], [b]) => (a === "admin" ? 1 : 0) - (b === "admin" ? 1 : 0));
  cleanups.clear();
  for (const [name, cleanup] of entries) {
    await cleanup().catch((error) => log(`warning: cleanup of ${name} failed: ${error.message}`));
  }
}

function log(line: string): void {
  console.error(line);
}

const ms = (samples: readonly Sample[]) => samples.map((s) => s.ms);
const rss = (samples: readonly Sample[]) => samples.map((s) => s.rss_mb);

function summarise(
  options: Options,
  samples: Record<Tool, Sample[]>,
  order: string[],
  noop: Record<Tool, Sample[]>,
  cold: (Sample & { applied: string })[],
  info: {
    strata: { commit: string; uncommitted_src: string[] };
    strataCommand: string;
    postgresVersion: string;
    dbmateVersion: string;
    external: boolean;
    load: number[];
    otherSessions: number[];
  },
) {
  const strataMs = median(ms(samples.strata));
  const dbmateMs = median(ms(samples.dbmate));
  const ratio = Math.round(strataMs / dbmateMs * 1000) / 1000;
  const strataRss = median(rss(samples.strata));
  const noopMs = median(ms(noop.strata));
  const coldMs = cold.length > 0 ? median(ms(cold)) : null;
  return {
    benchmark: "migrate",
    date: new Date().toISOString(),
    command: `deno task bench migrate --count ${options.count} --runs ${options.runs} --noop-runs ${options.noopRuns}` +
      ` --cold-runs ${options.coldRuns} --warmup ${options.warmup}` +
      (options.denoFlags.length > 0 ? ` --deno-flags="${options.denoFlags.join(" ")}"` : ""),
    count: options.count,
    runs: options.runs,
    strata_ms: strataMs,
    dbmate_ms: dbmateMs,
    ratio,
    // Each pair ran back to back, so a slow spell on the shared machine hits both sides of it.
    ratio_median_of_pairs: Math.round(median(samples.strata.map((s, i) => s.ms / samples.dbmate[i].ms)) * 1000) / 1000,
    strata_cpu_ms: median(samples.strata.map((s) => s.cpu_ms)),
    dbmate_cpu_ms: median(samples.dbmate.map((s) => s.cpu_ms)),
    strata_peak_rss_mb: strataRss,
    dbmate_peak_rss_mb: median(rss(samples.dbmate)),
    noop_ms: noopMs,
    dbmate_noop_ms: median(ms(noop.dbmate)),
    cold_ms: coldMs,
    targets: TARGETS,
    met: {
      ratio: ratio <= TARGETS.ratio,
      strata_peak_rss_mb: strataRss <= TARGETS.strata_peak_rss_mb,
      noop_ms: noopMs <= TARGETS.noop_ms,
      cold_ms: coldMs === null ? null : coldMs <= TARGETS.cold_ms,
    },
    strata: info.strata,
    postgres_version: info.postgresVersion,
    postgres_server: info.external ? "--database-url" : "embedded (deno task db start), shared with other users",
    other_active_sessions_before_after: info.otherSessions,
    raw: {
      order,
      strata: samples.strata,
      dbmate: samples.dbmate,
      noop_strata: noop.strata,
      noop_dbmate: noop.dbmate,
      cold_strata: cold,
    },
    tools: {
      strata: info.strataCommand,
      dbmate: `${info.dbmateVersion}, native binary: dbmate --url URL?sslmode=disable --migrations-dir migrations ` +
        "--no-dump-schema up",
    },
    machine: { ...machineInfo(), load_average_1m_before_after: info.load },
    notes: [
      "ms: wall clock from spawn to exit of the whole CLI process; medians over the runs; raw values per run in raw",
      "rss_mb: peak RSS from GNU time %M (largest waited-for process of the tree)",
      "cpu_ms: user + system CPU of the client process from GNU time (%U + %S); PostgreSQL's own CPU is not included",
      "each run applies to a freshly created database; the tools alternate going first",
      "noop: the same command against the last run's already-migrated database",
      "cold: `deno task migrate` in a fresh `git clone` (committed files only; it applies the committed " +
      "migrations/, functions/ and policies/, see raw.cold_strata[].applied), " +
      "no DATABASE_URL, STRATA_EMBEDDED_PORT=<free port>: includes initdb, server start, and node_modules " +
      "populated from Deno's global npm cache, which is warm (no downloads); its rss_mb includes initdb",
      "dbmate runs its native Go binary, not npm's Node.js shim (.bin/dbmate), so no Node start-up is charged to it",
    ],
  };
}

type Results = ReturnType<typeof summarise>;

const ROW_HEADER = ["metric", "Strata", "dbmate", "target", "met?"];

function summaryRows(r: Results): string[][] {
  const yes = (met: boolean | null) => met === null ? "n/a" : met ? "yes" : "no";
  const msText = (v: number | null) => v === null ? "n/a" : `${Math.round(v)} ms`;
  return [
    [`apply ${r.count} migrations (median of ${r.runs})`, msText(r.strata_ms), msText(r.dbmate_ms), "", ""],
    ["client CPU, user + sys (median)", msText(r.strata_cpu_ms), msText(r.dbmate_cpu_ms), "", ""],
    ["ratio Strata / dbmate", r.ratio.toFixed(2), "1.00", `<= ${TARGETS.ratio.toFixed(1)}`, yes(r.met.ratio)],
    ["ratio, median of per-run pairs", r.ratio_median_of_pairs.toFixed(2), "1.00", "(robustness check)", ""],
    [
      "peak RSS",
      `${Math.round(r.strata_peak_rss_mb)} MB`,
      `${Math.round(r.dbmate_peak_rss_mb)} MB`,
      `<= ${TARGETS.strata_peak_rss_mb} MB`,
      yes(r.met.strata_peak_rss_mb),
    ],
    [
      "no-op migrate (up to date)",
      msText(r.noop_ms),
      msText(r.dbmate_noop_ms),
      `<= ${TARGETS.noop_ms} ms`,
      yes(r.met.noop_ms),
    ],
    ["cold `deno task migrate`, fresh clone", msText(r.cold_ms), "n/a", `<= ${TARGETS.cold_ms} ms`, yes(r.met.cold_ms)],
  ];
}

function readmeSection(r: Results, rows: string[][]): string {
  return `## migrate

Strata against [dbmate](https://github.com/amacneil/dbmate) applying ${r.count} small generated
migrations (create table, add column, create index, insert rows; each file carries both tools'
section markers) to a fresh database, each process timed from spawn to exit.

${markdownTable(ROW_HEADER, rows)}

Measured ${r.date.slice(0, 10)} on ${r.machine.cpu_model} (${r.machine.nproc} CPUs), PostgreSQL ${r.postgres_version},
Deno ${r.machine.deno}, ${r.tools.dbmate.split(",")[0]}; Strata at ${r.strata.commit}${
    r.strata.uncommitted_src.length > 0 ? ` plus uncommitted changes to ${r.strata.uncommitted_src.join(", ")}` : ""
  }; 1-minute load average ${r.machine.load_average_1m_before_after.join(" before, ")} after. Raw numbers per run:
\`bench/results/migrate.json\`.

\`\`\`sh
${r.command}
\`\`\`

- Times are medians; each run uses a new database, and the tools alternate going first.
- Peak RSS is GNU time's \`%M\` (\`apt-get install time\` if \`/usr/bin/time\` is missing).
- No-op: the same command again against the migrated database.
- Cold: \`deno task migrate\` in a fresh \`git clone\` with no \`DATABASE_URL\`: initdb, server start,
  node_modules filled from Deno's warm global cache (no downloads), and applying the committed project
  (${r.raw.cold_strata[0]?.applied ?? "n/a"}).
- dbmate is installed by the script into \`bench/work/tools\` and run as its native binary.
- The embedded server and the disk are shared with whatever else runs on the machine: do not run another
  benchmark (e.g. \`queries\`) or the test suite at the same time. The JSON records the load average and the
  number of other active sessions on the server before and after.`;
}
