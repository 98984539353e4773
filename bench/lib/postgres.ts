import postgres from "postgres";
import { run } from "./process.ts";

/** A client on the server's maintenance database, for creating and dropping benchmark databases. */
export type Admin = postgres.Sql;

/**
 * Starts (idempotently) the repository's embedded PostgreSQL and returns its
 * URL; `db start` prints it as its last line.
 */
export async function embeddedServerUrl(repo: string): Promise<string> {
  const out = await run(Deno.execPath(), ["task", "--quiet", "db", "start"], { cwd: repo });
  const url = out.trim().split("\n").reverse().find((line) => /^postgres(ql)?:\/\//.test(line.trim()));
  if (!url) throw new Error(`\`deno task db start\` printed no URL:\n${out}`);
  return url.trim();
}

/** The same server, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

/** dbmate's Go driver tries TLS first unless told not to; the local server has none. */
export function withoutSsl(url: string): string {
  const u = new URL(url);
  u.searchParams.set("sslmode", "disable");
  return u.toString();
}

/** Opens an admin client on the `postgres` database of the server of `url`. */
export function openAdmin(url: string): Admin {
  return postgres(withDatabase(url, "postgres"), { max: 1, onnotice: () => {}, idle_timeout: 0 });
}

/**
 * Only `bench_` databases are ever created or dropped: other engineers run
 * tests against the same server.
 */
function benchIdent(name: string): string {
  if (!/^bench_[a-z0-9_]+$/.test(name)) throw new Error(`refusing a non-bench database name: ${name}`);
  return `"${name}"`;
}

export async function createDatabase(admin: Admin, name: string): Promise<void> {
  await admin.unsafe(`create database ${benchIdent(name)}`);
}

export async function dropDatabase(admin: Admin, name: string): Promise<void> {
  await admin.unsafe(`drop database if exists ${benchIdent(name)} with (force)`);
}

/** Runs one query returning one number on database `url`, e.g. a `count(*)`. */
export async function scalar(url: string, query: string): Promise<number> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql.unsafe(query);
    return Number(Object.values(row)[0]);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** `server_version` of the server, e.g. `18.1`. */
export async function serverVersion(admin: Admin): Promise<string> {
  const [row] = await admin.unsafe("show server_version");
  return String(row.server_version);
}

/** Other sessions running a statement on the server right now: they compete with the tools for CPU and disk. */
export async function otherActiveSessions(admin: Admin): Promise<number> {
  const [row] = await admin.unsafe(
    `select count(*)::int as n from pg_stat_activity
      where backend_type = 'client backend' and state = 'active' and pid <> pg_backend_pid()`,
  );
  return Number(row.n);
}
