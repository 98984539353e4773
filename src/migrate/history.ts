import { sql } from "kysely";
import type { Session } from "../db/session.ts";
import { ident } from "./sql_builders.ts";
import { SqlState, sqlState } from "../db/sqlstate.ts";

/** A row of `<schema>.schema_history`. */
export interface AppliedRow {
  readonly kind: "versioned" | "repeatable";
  readonly version: string;
  readonly name: string;
  readonly checksum: string;
  readonly applied_at: Date;
  readonly duration_ms: number;
  readonly applied_by: string;
  readonly runner: string;
}

const FROZEN = new URL("./bookkeeping/", import.meta.url);

/**
 * Creates or upgrades Strata's bookkeeping schema with the frozen SQL files
 * of `bookkeeping/` (never with today's builders, so an old database is
 * upgraded by exactly the steps it missed). Call under the migration lock.
 *
 * @returns the bookkeeping versions applied now
 */
export async function ensureBookkeeping(session: Session, schema: string): Promise<number[]> {
  const current = await bookkeepingVersion(session, schema);
  const files: { version: number; name: string }[] = [];
  for await (const entry of Deno.readDir(FROZEN)) {
    const match = /^(\d{4})_.*\.sql$/.exec(entry.name);
    if (match && Number(match[1]) > current) files.push({ version: Number(match[1]), name: entry.name });
  }
  files.sort((a, b) => a.version - b.version);
  for (const { version, name } of files) {
    const text = (await Deno.readTextFile(new URL(name, FROZEN))).replaceAll("__SCHEMA__", ident(schema));
    await session.exec(
      `begin; ${text}; insert into ${ident(schema)}.bookkeeping (version) values (${version}); commit`,
    ).catch(async (error) => {
      await session.exec("rollback").catch(() => {});
      throw error;
    });
  }
  return files.map((f) => f.version);
}

/** The bookkeeping version of a database; 0 when Strata never ran there. */
export async function bookkeepingVersion(session: Session, schema: string): Promise<number> {
  const [row] = await session.query<{ present: boolean }>(
    "select to_regclass($1) is not null as present",
    [`${ident(schema)}.bookkeeping`],
  );
  if (!row.present) return 0;
  const [v] = await session.exec<{ version: number | null }>(
    `select max(version) as version from ${ident(schema)}.bookkeeping`,
  );
  return v.version ?? 0;
}

/** Every history row; empty when the bookkeeping schema does not exist yet. */
export async function readHistory(session: Session, schema: string): Promise<AppliedRow[]> {
  try {
    const { rows } = await sql<AppliedRow>`
      select kind, version, name, checksum, applied_at, duration_ms, applied_by, runner
        from ${sql.table(`${schema}.schema_history`)}
       order by kind, version`.execute(session.db);
    return rows;
  } catch (error) {
    if (sqlState(error) === SqlState.UndefinedTable || sqlState(error) === "3F000") return [];
    throw error;
  }
}

/** Stores a versioned migration's current checksum (repair). */
export async function updateChecksum(session: Session, schema: string, version: string, checksum: string) {
  await sql`update ${sql.table(`${schema}.schema_history`)} set checksum = ${checksum}
             where kind = 'versioned' and version = ${version}`.execute(session.db);
}

/** Deletes the history row of a versioned migration whose file is gone (repair). */
export async function forgetVersion(session: Session, schema: string, version: string) {
  await sql`delete from ${sql.table(`${schema}.schema_history`)}
             where kind = 'versioned' and version = ${version}`.execute(session.db);
}
