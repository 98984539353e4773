import postgres from "postgres";
import { ConfigError } from "../errors.ts";
import type { Session } from "./session.ts";
import { describeUrl, urlParts, withDatabase } from "./url.ts";

/** What {@linkcode checkDirectConnection} concluded. */
export interface PoolerCheck {
  /** A proxy sits between us and PostgreSQL (the ports differ). */
  readonly proxied: boolean;
  /** PgBouncer's pool mode for this database when its console answered. */
  readonly poolMode: string | null;
}

/**
 * Refuses a transaction- or statement-pooled connection for migrations:
 * PgBouncer hands each transaction to any server connection, so the session
 * advisory lock and session `SET`s of no-transaction migrations would not
 * hold.
 *
 * The server reports the port it listens on; when it differs from the URL's,
 * something proxies the connection. PgBouncer's console (the virtual
 * `pgbouncer` database on the same address) then tells the pool mode.
 */
export async function checkDirectConnection(session: Session, url: string): Promise<PoolerCheck> {
  const [row] = await session.query<{ port: string }>("select current_setting('port') as port");
  const parts = urlParts(url);
  if (Number(row.port) === parts.port) return { proxied: false, poolMode: null };
  const poolMode = await pgbouncerPoolMode(url, parts.database);
  if (poolMode === "transaction" || poolMode === "statement") {
    throw new ConfigError(
      `${describeUrl(url)} is PgBouncer in ${poolMode} pooling mode: migrations need a direct connection ` +
        "(session advisory lock, statement-by-statement no-transaction migrations). " +
        "Set MIGRATION_DATABASE_URL (or --database-url) to PostgreSQL itself, or to a session-mode pool.",
    );
  }
  return { proxied: true, poolMode };
}

async function pgbouncerPoolMode(url: string, database: string): Promise<string | null> {
  const admin = postgres(withDatabase(url, "pgbouncer"), {
    max: 1,
    prepare: false,
    connect_timeout: 3,
    onnotice: () => {},
    // The console speaks a subset of the protocol: no type fetching.
    fetch_types: false,
  });
  try {
    const databases = await admin.unsafe("SHOW DATABASES").simple();
    const own = (databases as unknown as Record<string, string>[]).find((d) => d.name === database);
    if (own?.pool_mode) return own.pool_mode;
    const config = await admin.unsafe("SHOW CONFIG").simple();
    const entry = (config as unknown as Record<string, string>[]).find((c) => c.key === "pool_mode");
    return entry?.value ?? null;
  } catch {
    // Not PgBouncer, or no console access: nothing more can be learnt.
    return null;
  } finally {
    await admin.end({ timeout: 0 }).catch(() => {});
  }
}
