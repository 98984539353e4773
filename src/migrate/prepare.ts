import {
  type CompiledQuery,
  type DatabaseConnection,
  DummyDriver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from "kysely";
import { parseDuration } from "../config/duration.ts";
import { MigrationError } from "../errors.ts";
import { importTs, parseSql, type SourceFile } from "./source.ts";
import { firstNonTransactional, type SqlSection } from "./sql_file.ts";
import type { SqlStatement } from "./sql_split.ts";
import type { Timeouts } from "./sql_builders.ts";

/** What runs for one direction of a migration. */
export type Body =
  | { readonly kind: "sql"; readonly statements: readonly SqlStatement[] }
  | {
    readonly kind: "ts";
    // deno-lint-ignore no-explicit-any
    readonly run: (db: Kysely<any>) => Promise<void>;
    /** The SQL the function issues, recorded against a database that returns no rows. */
    readonly record: () => Promise<string[]>;
  };

/** A migration or repeatable, parsed and checked, ready to run. */
export interface Prepared {
  readonly source: SourceFile;
  readonly transaction: boolean;
  readonly timeouts: Timeouts;
  readonly up: Body;
  readonly down: Body | null;
  /** Indexes built concurrently by `up`, for INVALID-index cleanup before (re)running. */
  readonly concurrentIndexes: readonly NonNullable<SqlStatement["concurrentIndex"]>[];
}

/**
 * Parses a source file and checks it can run as declared: a transactional
 * migration may not contain a statement PostgreSQL refuses in a transaction.
 * Throws {@linkcode MigrationError} naming file, line and the fix.
 */
export async function prepare(source: SourceFile, defaults: Timeouts): Promise<Prepared> {
  if (source.language === "ts") return await prepareTs(source, defaults);
  const parsed = await parseSql(source);
  const { directives } = parsed;
  if (!directives.transaction && source.kind === "repeatable") {
    throw new MigrationError(
      `${source.file}: repeatables always run in a transaction; remove "-- strata:no-transaction"`,
    );
  }
  if (directives.transaction) {
    for (const section of [parsed.up, parsed.down]) if (section) refuseNonTransactional(source, section);
  }
  const statements = (section: SqlSection | null): Body | null =>
    section ? { kind: "sql", statements: section.statements } : null;
  return {
    source,
    transaction: directives.transaction,
    timeouts: {
      lock: directives.lockTimeout ?? defaults.lock,
      statement: directives.statementTimeout ?? defaults.statement,
    },
    up: statements(parsed.up)!,
    down: statements(parsed.down),
    concurrentIndexes: parsed.up.statements.flatMap((s) => s.concurrentIndex ? [s.concurrentIndex] : []),
  };
}

function refuseNonTransactional(source: SourceFile, section: SqlSection): void {
  const statement = firstNonTransactional(section);
  if (!statement) return;
  throw new MigrationError(
    `${source.file}:${statement.line}:${statement.column}: ${statement.nonTransactional} cannot run inside a transaction block\n` +
      `  statement: ${statement.sql.split("\n")[0].slice(0, 120)}\n` +
      `  fix: add "-- strata:no-transaction" to the header of ${source.file}, ` +
      `and keep that migration to the statements that need it (each then runs on its own)`,
  );
}

async function prepareTs(source: SourceFile, defaults: Timeouts): Promise<Prepared> {
  const mod = await importTs(source);
  const timeout = (value: string | undefined, fallback: string, what: string) => {
    if (value === undefined) return fallback;
    try {
      return parseDuration(value).text;
    } catch (error) {
      throw new MigrationError(`${source.file}: ${what}: ${(error as RangeError).message}`);
    }
  };
  const body = (fn: NonNullable<typeof mod.down>): Body => ({
    kind: "ts",
    run: fn,
    record: async () => {
      const recorded: string[] = [];
      try {
        await fn(recordingKysely(recorded));
      } catch (error) {
        // The recording database returns no rows; code that needs them stops here.
        recorded.push(`-- recording stopped: ${(error as Error).message}`);
      }
      return recorded;
    },
  });
  return {
    source,
    transaction: mod.transaction !== false,
    timeouts: {
      lock: timeout(mod.lockTimeout, defaults.lock, "lockTimeout"),
      statement: timeout(mod.statementTimeout, defaults.statement, "statementTimeout"),
    },
    up: body(mod.up),
    down: mod.down ? body(mod.down) : null,
    concurrentIndexes: [],
  };
}

// deno-lint-ignore no-explicit-any
function recordingKysely(out: string[]): Kysely<any> {
  const connection: DatabaseConnection = {
    executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
      const params = query.parameters.length ? ` -- parameters: ${JSON.stringify(query.parameters)}` : "";
      out.push(`${query.sql}${params}`);
      return Promise.resolve({ rows: [] });
    },
    // deno-lint-ignore require-yield
    async *streamQuery() {
      throw new Error("streaming is not recorded");
    },
  };
  class RecordingDriver extends DummyDriver {
    override acquireConnection(): Promise<DatabaseConnection> {
      return Promise.resolve(connection);
    }
  }
  return new Kysely({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => new RecordingDriver(),
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
}
