/**
 * pgbench as the load generator of the queries benchmark.
 *
 * Why not the Deno client: postgres.js under Deno spends ~0.09 ms of CPU per
 * round trip (select 1: 0.19 ms against pgbench's 0.10 ms), and at
 * concurrency 8 its single event loop queues every reply behind the others'
 * JavaScript: a 0.26 ms statement measured 2.5 ms at p95. That is the
 * client's latency, not the database's. pgbench is PostgreSQL's own C load
 * generator and logs every transaction's latency.
 */
import { existsSync } from "node:fs";

/** pgbench from PATH, else the newest Debian install; installed with apt-get (as root) when missing. */
export async function find_pgbench(log: (line: string) => void): Promise<string> {
  const found = locate();
  if (found) return found;
  const root = Deno.uid?.() === 0;
  if (root && existsSync("/usr/bin/apt-get")) {
    // Debian ships pgbench with the server package.
    log("  pgbench is missing: installing postgresql-15 with apt-get");
    for (const args of [["update", "-qq"], ["install", "-y", "-qq", "postgresql-15"]]) {
      const out = await new Deno.Command("apt-get", {
        args,
        env: { DEBIAN_FRONTEND: "noninteractive" },
        stdout: "null",
        stderr: "piped",
      }).output();
      if (!out.success) {
        throw new Error(`apt-get ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
      }
    }
    const installed = locate();
    if (installed) return installed;
  }
  throw new Error(
    "pgbench is missing: install it (Debian: apt-get install postgresql-15) or set PGBENCH to its path",
  );
}

function locate(): string | undefined {
  const env = Deno.env.get("PGBENCH");
  if (env) return env;
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    if (dir && existsSync(`${dir}/pgbench`)) return `${dir}/pgbench`;
  }
  const versions = existsSync("/usr/lib/postgresql")
    ? [...Deno.readDirSync("/usr/lib/postgresql")].map((e) => e.name).filter((n) => /^\d+$/.test(n))
      .sort((a, b) => Number(b) - Number(a))
    : [];
  return versions.map((v) => `/usr/lib/postgresql/${v}/bin/pgbench`).find((p) => existsSync(p));
}

/** One pgbench run. */
export interface PgbenchRun {
  /** Connection URL (libpq accepts it as the database name). */
  readonly url: string;
  /** Script texts; pgbench picks one at random (equal weights) for each transaction. */
  readonly scripts: readonly string[];
  readonly clients: number;
  /** Transactions per client, or a duration: exactly one of the two. */
  readonly transactions?: number;
  readonly duration_s?: number;
  /** The role every session runs as (a startup option), for calls the application makes without a user. */
  readonly role?: string;
  /** pgbench's --random-seed: the same script sequence every run. */
  readonly seed: number;
  /**
   * Drop each client's first transaction of each script, its first few
   * transactions and the run's first half second: they open the sessions,
   * prepare the statements and fill the session's caches (PL/pgSQL plans are
   * per session), which the application's long-lived pooled sessions have
   * long done.
   */
  readonly discard_first: boolean;
}

/** The latencies (ms) of the kept transactions, the script of each, and the run's throughput. */
export interface PgbenchResult {
  readonly latencies_ms: number[];
  /** The index in `scripts` of each kept transaction's script. */
  readonly scripts: number[];
  /** Transactions per second over the run, all of them (pgbench's own figure). */
  readonly tps: number;
}

/** Transactions each client runs before any is kept, whatever its script. */
const FIRST_PER_CLIENT = 5;
/**
 * Nor is anything kept from a run's first half second: the 8 new backends
 * start up (fork, catalog caches) while the first-connected sessions already
 * run, which is a pool being opened, not its steady state.
 */
const WARM_MS = 500;

export async function run_pgbench(pgbench: string, run: PgbenchRun): Promise<PgbenchResult> {
  const dir = await Deno.makeTempDir({ prefix: "strata_pgbench_" });
  try {
    const files: string[] = [];
    for (const [i, text] of run.scripts.entries()) {
      const file = `${dir}/script_${i}.sql`;
      await Deno.writeTextFile(file, text);
      files.push(file);
    }
    const threads = Math.min(run.clients, navigator.hardwareConcurrency || 1);
    const args = [
      "--no-vacuum",
      "--protocol=prepared",
      `--client=${run.clients}`,
      `--jobs=${threads}`,
      `--random-seed=${run.seed}`,
      "--log",
      `--log-prefix=${dir}/log`,
      ...(run.transactions !== undefined ? [`--transactions=${run.transactions}`] : [`--time=${run.duration_s}`]),
      ...files.flatMap((f) => ["-f", `${f}@1`]),
      run.url,
    ];
    const env: Record<string, string> = { PGAPPNAME: "strata_bench" };
    if (run.role) env.PGOPTIONS = `-c role=${run.role}`;
    const out = await new Deno.Command(pgbench, { args, env, stdout: "piped", stderr: "piped" }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    if (!out.success || /error/i.test(stderr)) {
      throw new Error(`pgbench failed (${out.code}):\n${stderr}\n${stdout}\nfirst script:\n${run.scripts[0]}`);
    }
    const tps = Number(/tps = ([\d.]+)/.exec(stdout)?.[1] ?? NaN);
    const latencies: number[] = [];
    const script_of: number[] = [];
    const seen = new Set<string>();
    const per_client = new Map<string, number>();
    const lines: string[][] = [];
    for await (const entry of Deno.readDir(dir)) {
      if (!entry.name.startsWith("log")) continue;
      // client_id transaction_no time_us script_no epoch_s epoch_us, in each client's order.
      for (const line of (await Deno.readTextFile(`${dir}/${entry.name}`)).split("\n")) {
        if (line) lines.push(line.split(" "));
      }
    }
    const done_at = (f: string[]) => Number(f[4]) * 1000 + Number(f[5]) / 1000;
    // A loop, not Math.min(...): a run logs over 100,000 transactions.
    let started = Infinity;
    for (const f of lines) started = Math.min(started, done_at(f) - Number(f[2]) / 1000);
    for (const f of lines) {
      const [client, , time_us, script] = f;
      if (run.discard_first) {
        const n = per_client.get(client) ?? 0;
        per_client.set(client, n + 1);
        const key = `${client}:${script}`;
        const first = !seen.has(key);
        seen.add(key);
        if (first || n < FIRST_PER_CLIENT || done_at(f) - started < WARM_MS) continue;
      }
      latencies.push(Number(time_us) / 1000);
      script_of.push(Number(script));
    }
    return { latencies_ms: latencies, scripts: script_of, tps };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A SQL string literal (the scripts carry their parameters inline; prepared mode sends no parameters). */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** `pgbench --version`, e.g. "pgbench (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)". */
export async function pgbench_version(pgbench: string): Promise<string> {
  const out = await new Deno.Command(pgbench, { args: ["--version"], stdout: "piped" }).output();
  return new TextDecoder().decode(out.stdout).trim();
}
