import type { Session } from "../db/session.ts";
import { ident } from "./sql_builders.ts";

/** An index whose build failed (`pg_index.indisvalid = false`). */
export interface InvalidIndex {
  readonly schema: string;
  readonly name: string;
  readonly table: string;
}

/** Every INVALID index in the current database. */
export async function listInvalidIndexes(session: Session): Promise<InvalidIndex[]> {
  return await session.query<InvalidIndex>(
    `select n.nspname as schema, c.relname as name, t.relname as table
       from pg_index i
       join pg_class c on c.oid = i.indexrelid
       join pg_namespace n on n.oid = c.relnamespace
       join pg_class t on t.oid = i.indrelid
      where not i.indisvalid
      order by 1, 2`,
  );
}

/**
 * The INVALID index a failed `CREATE INDEX CONCURRENTLY` of `target` left
 * behind, or null. An unqualified name resolves through `search_path`, as
 * the statement itself would.
 */
export async function findInvalidIndex(
  session: Session,
  target: { readonly schema: string | null; readonly name: string },
): Promise<InvalidIndex | null> {
  const qualified = target.schema ? `${ident(target.schema)}.${ident(target.name)}` : ident(target.name);
  const [row] = await session.query<InvalidIndex & { valid: boolean }>(
    `select n.nspname as schema, c.relname as name, t.relname as table, i.indisvalid as valid
       from pg_index i
       join pg_class c on c.oid = i.indexrelid
       join pg_namespace n on n.oid = c.relnamespace
       join pg_class t on t.oid = i.indrelid
      where c.oid = to_regclass($1)`,
    [qualified],
  );
  return row && !row.valid ? { schema: row.schema, name: row.name, table: row.table } : null;
}
