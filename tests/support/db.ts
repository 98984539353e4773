import postgres from "postgres";
import { loadConfig } from "../../src/config/load.ts";
import { startEmbedded } from "../../src/db/embedded.ts";
import { withDatabase } from "../../src/db/url.ts";
import { REPO_ROOT } from "./cli.ts";

/** A fresh database for one test, dropped afterwards. */
export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Superuser connection to the database. */
  readonly sql: postgres.Sql;
}

let serverUrl: Promise<string> | undefined;

/**
 * The server tests run on: `TEST_DATABASE_URL`'s, or the project's embedded
 * PostgreSQL 18 (started if needed, reused across runs).
 */
export function testServerUrl(): Promise<string> {
  serverUrl ??= (async () => {
    const url = Deno.env.get("TEST_DATABASE_URL");
    if (url) return url;
    // Only the embedded port may come from the environment (CI picks a free one).
    const port = Deno.env.get("STRATA_EMBEDDED_PORT");
    const config = await loadConfig({ cwd: REPO_ROOT, env: port ? { STRATA_EMBEDDED_PORT: port } : {} });
    return (await startEmbedded(config)).url;
  })();
  return serverUrl;
}

/** Opens a superuser postgres.js client on a database of the test server. */
export async function connect(database: string, options: postgres.Options<never> = {}): Promise<postgres.Sql> {
  return postgres(withDatabase(await testServerUrl(), database), {
    max: 4,
    onnotice: () => {},
    ...options,
  });
}

/** Runs `fn` with a database of its own, then drops it (and any session still on it). */
export async function withTestDatabase<T>(fn: (db: TestDatabase) => Promise<T>): Promise<T> {
  const name = `strata_test_${crypto.randomUUID().replaceAll("-", "").slice(0, 16)}`;
  const admin = await connect("postgres", { max: 1 });
  await admin.unsafe(`create database ${name}`);
  const url = withDatabase(await testServerUrl(), name);
  const sql = postgres(url, { max: 4, onnotice: () => {} });
  try {
    return await fn({ url, name, sql });
  } finally {
    await sql.end({ timeout: 5 });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 5 });
  }
}

/** The PostgreSQL major version of the test server. */
export async function serverMajor(sql: postgres.Sql): Promise<number> {
  const [row] = await sql`select current_setting('server_version_num')::int / 10000 as major`;
  return row.major;
}
