/**
 * Pure builders of the SQL the runner sends around migrations. The runner
 * executes exactly these strings and `plan` prints them, so what `plan`
 * shows is what `migrate` runs.
 */

/** Quotes an identifier for PostgreSQL. */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/** Quotes a string literal for PostgreSQL (standard_conforming_strings on). */
export function literal(value: string): string {
  return `'${value.replaceAll("'", "''")}'`;
}

/** Timeouts for one migration, as PostgreSQL durations (`'5000ms'`). */
export interface Timeouts {
  readonly lock: string;
  readonly statement: string;
}

/**
 * Opens a migration's transaction with its timeouts scoped to it.
 *
 * Commits within a run are asynchronous (`synchronous_commit = off`): each
 * migration and its history row still commit atomically, so a crash can only
 * lose whole migrations, and {@linkcode flushWal} at the end of the run makes
 * all of them durable before the runner reports success. This saves one WAL
 * flush per migration.
 */
export function beginTransaction(t: Timeouts): string {
  return `begin; set local lock_timeout = ${literal(t.lock)}; set local statement_timeout = ${
    literal(t.statement)
  }; set local synchronous_commit = off`;
}

/**
 * A synchronous commit of a transaction with an xid: it waits for the WAL
 * flush, which covers every asynchronous commit before it.
 */
export function flushWal(): string {
  return "begin; select pg_current_xact_id(); commit";
}

/** Session timeouts for a no-transaction migration (direct connection only). */
export function setSessionTimeouts(t: Timeouts): string {
  return `set lock_timeout = ${literal(t.lock)}; set statement_timeout = ${literal(t.statement)}`;
}

/**
 * Undoes {@linkcode setSessionTimeouts} and whatever session state a
 * migration left (`SET search_path`, `SET ROLE`), so the next migration
 * starts clean. `RESET ALL` does not reset the role, hence both.
 */
export function resetSession(): string {
  return "reset all; reset role";
}

/**
 * Ends a migration's transaction: the history row is written as the
 * connecting user (a migration may have switched role with `SET LOCAL
 * ROLE`), then the session is reset for the next migration.
 */
export function commitTransaction(record: string): string {
  return `reset role; ${record}; commit; ${resetSession()}`;
}

/** Writes the history row of a no-transaction migration as the connecting user. */
export function recordOutsideTransaction(record: string): string {
  return `reset role; ${record}`;
}

/** A history row as written after a successful migration. */
export interface HistoryRow {
  readonly kind: "versioned" | "repeatable";
  readonly version: string;
  readonly name: string;
  readonly checksum: string;
  /** Client-measured duration; null measures the migration's transaction on the server. */
  readonly durationMs: number | null;
  readonly runner: string;
}

/** Records an applied migration (a repeatable's row is replaced). */
export function recordApplied(schema: string, row: HistoryRow): string {
  return `insert into ${ident(schema)}.schema_history (kind, version, name, checksum, duration_ms, runner) values (${
    [row.kind, row.version, row.name, row.checksum].map(literal).join(", ")
  }, ${
    row.durationMs === null
      ? "(extract(epoch from clock_timestamp() - now()) * 1000)::int"
      : Math.max(0, Math.round(row.durationMs))
  }, ${literal(row.runner)}) on conflict (kind, version) do update set ` +
    "name = excluded.name, checksum = excluded.checksum, applied_at = now(), duration_ms = excluded.duration_ms, " +
    "applied_by = current_user, runner = excluded.runner";
}

/**
 * Removes a reverted migration, and forgets every repeatable: a down may have
 * dropped the objects they created, so the next `migrate` re-applies them.
 */
export function recordReverted(schema: string, version: string): string {
  return `delete from ${ident(schema)}.schema_history where (kind = 'versioned' and version = ${
    literal(version)
  }) or kind = 'repeatable'`;
}

/** Drops an INVALID index left by a failed concurrent build. */
export function dropIndexConcurrently(schema: string, name: string): string {
  return `drop index concurrently if exists ${ident(schema)}.${ident(name)}`;
}

/** The advisory lock name of one history schema in one database. */
export function lockName(schema: string): string {
  return `strata:migrate:${schema}`;
}
