import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  Kysely,
  PostgresAdapter,
  PostgresIntrospector,
  PostgresQueryCompiler,
  type QueryResult,
} from "kysely";
import postgres from "postgres";
import { UnreachableError } from "../errors.ts";
import { isConnectionFailure, isTransientConnectionFailure } from "./sqlstate.ts";
import { describeUrl } from "./url.ts";

/** Options of {@linkcode openSession}. */
export interface SessionOptions {
  /** `application_name` reported in `pg_stat_activity`. Default: `strata`. */
  readonly applicationName?: string;
  /** Keep retrying a refused or not-yet-ready connection for this many ms. Default: 0. */
  readonly waitMs?: number;
  /** Receives server notices (for example `NOTICE: relation exists, skipping`). */
  readonly onNotice?: (notice: postgres.Notice) => void;
}

/**
 * One dedicated server session: the migration runner's unit of work.
 *
 * Session advisory locks, `SET` for non-transactional migrations and
 * statement-by-statement execution all need the same backend for the whole
 * run, so this pins one connection and exposes it both as Kysely (for typed
 * bookkeeping queries and TypeScript migrations) and as raw simple-protocol
 * execution (for migration SQL, which must not be prepared).
 */
export class Session {
  readonly #client: postgres.Sql;
  readonly #conn: postgres.ReservedSql;
  /** Kysely bound to this session's single connection. */
  readonly db: Kysely<unknown>;
  /** The URL with its password masked, for messages. */
  readonly label: string;

  private constructor(client: postgres.Sql, conn: postgres.ReservedSql, label: string) {
    this.#client = client;
    this.#conn = conn;
    this.label = label;
    this.db = new Kysely({
      dialect: {
        createAdapter: () => new PostgresAdapter(),
        createDriver: () => new SessionDriver(conn),
        createIntrospector: (db) => new PostgresIntrospector(db),
        createQueryCompiler: () => new PostgresQueryCompiler(),
      },
    });
  }

  /** Opens the session, or throws {@linkcode UnreachableError} naming host, port and reason. */
  static async open(url: string, options: SessionOptions = {}): Promise<Session> {
    const label = describeUrl(url);
    const deadline = Date.now() + (options.waitMs ?? 0);
    for (let attempt = 1;; attempt++) {
      const client = postgres(url, {
        max: 1,
        prepare: false,
        idle_timeout: 0,
        max_lifetime: null,
        connect_timeout: 10,
        connection: { application_name: options.applicationName ?? "strata" },
        onnotice: options.onNotice ?? (() => {}),
      });
      try {
        const conn = await client.reserve();
        return new Session(client, conn, label);
      } catch (error) {
        await client.end({ timeout: 0 }).catch(() => {});
        if (!isConnectionFailure(error)) throw error;
        if (Date.now() < deadline && isTransientConnectionFailure(error)) {
          await new Promise((r) => setTimeout(r, Math.min(1000, 100 * attempt)));
          continue;
        }
        throw new UnreachableError(`cannot connect to ${label}: ${reason(error)}`, { cause: error });
      }
    }
  }

  /** Sends one statement with the simple query protocol; returns its rows. */
  async exec<T = Record<string, unknown>>(text: string): Promise<T[]> {
    return (await this.#conn.unsafe(text).simple()) as unknown as T[];
  }

  /** Runs a parameterised statement (extended protocol, unnamed statement). */
  async query<T = Record<string, unknown>>(text: string, params: unknown[] = []): Promise<T[]> {
    return (await this.#conn.unsafe(text, params as postgres.ParameterOrJSON<never>[])) as unknown as T[];
  }

  /** Releases the connection; the server ends the session and its advisory locks. */
  async close(): Promise<void> {
    this.#conn.release();
    await this.db.destroy();
    await this.#client.end({ timeout: 5 });
  }
}

function reason(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return e.code && !e.message?.includes(e.code) ? `${e.message} (${e.code})` : String(e.message ?? error);
}

class SessionDriver implements Driver {
  readonly #conn: postgres.ReservedSql;
  constructor(conn: postgres.ReservedSql) {
    this.#conn = conn;
  }
  async init(): Promise<void> {}
  acquireConnection(): Promise<DatabaseConnection> {
    return Promise.resolve(new SessionConnection(this.#conn));
  }
  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("begin"));
  }
  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("commit"));
  }
  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw("rollback"));
  }
  async releaseConnection(): Promise<void> {}
  // The session owns the connection; Kysely must not end it.
  async destroy(): Promise<void> {}
}

class SessionConnection implements DatabaseConnection {
  readonly #conn: postgres.ReservedSql;
  constructor(conn: postgres.ReservedSql) {
    this.#conn = conn;
  }
  async executeQuery<R>(query: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.#conn.unsafe(
      query.sql,
      query.parameters as postgres.ParameterOrJSON<never>[],
      { prepare: false },
    );
    const affects = ["INSERT", "UPDATE", "DELETE", "MERGE"].includes(result.command);
    return {
      rows: Array.from(result) as R[],
      numAffectedRows: affects ? BigInt(result.count) : undefined,
    };
  }
  // deno-lint-ignore require-yield
  async *streamQuery<R>(): AsyncIterableIterator<QueryResult<R>> {
    throw new Error("streaming is not supported on a migration session");
  }
}
