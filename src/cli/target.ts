import type { LoadedConfig } from "../config/load.ts";
import { startEmbedded } from "../db/embedded.ts";
import { Session } from "../db/session.ts";
import { SqlState, sqlState } from "../db/sqlstate.ts";
import { withDatabase } from "../db/url.ts";
import { ident } from "../migrate/sql_builders.ts";

/** The database a command works on. */
export interface Target {
  readonly url: string;
  /** True when the embedded server is used (no URL configured). */
  readonly embedded: boolean;
}

/**
 * Picks the migration connection: `--database-url`, else
 * `MIGRATION_DATABASE_URL` (direct), else `DATABASE_URL`, else the embedded
 * server, started (and its database created) on demand.
 */
export async function migrationTarget(
  config: LoadedConfig,
  options: { flagUrl?: string; log: (line: string) => void; waitMs: number },
): Promise<Target> {
  const url = options.flagUrl ?? config.migration_database_url ?? config.database_url;
  if (url) return { url, embedded: false };
  const server = await startEmbedded(config, { log: options.log });
  if (server.started) options.log(`started embedded PostgreSQL 18 on 127.0.0.1:${server.port}`);
  await ensureDatabase(server.url, config.embedded.database, options.waitMs);
  return { url: server.url, embedded: true };
}

async function ensureDatabase(url: string, database: string, waitMs: number): Promise<void> {
  const admin = await Session.open(withDatabase(url, "postgres"), { waitMs: Math.max(waitMs, 5000) });
  try {
    const [row] = await admin.query<{ exists: boolean }>(
      "select exists (select from pg_database where datname = $1) as exists",
      [database],
    );
    if (row.exists) return;
    await admin.exec(`create database ${ident(database)}`).catch((error) => {
      // Another runner created it first.
      const state = sqlState(error);
      if (state !== SqlState.DuplicateDatabase && state !== SqlState.UniqueViolation) throw error;
    });
  } finally {
    await admin.close();
  }
}
