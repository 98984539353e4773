import type { Session } from "../db/session.ts";
import { acquireAdvisoryLock } from "../db/advisory_lock.ts";
import { isConnectionFailure, isLockContention, sqlState } from "../db/sqlstate.ts";
import { MigrationError, type StrataError, ValidationError } from "../errors.ts";
import { toPgDuration } from "../config/duration.ts";
import { ensureBookkeeping, forgetVersion, readHistory, updateChecksum } from "./history.ts";
import { compareVersions, readRepeatables, readVersioned, type SourceFile } from "./source.ts";
import { type Body, prepare, type Prepared } from "./prepare.ts";
import { findInvalidIndex, type InvalidIndex, listInvalidIndexes } from "./invalid_indexes.ts";
import {
  beginTransaction,
  commitTransaction,
  dropIndexConcurrently,
  flushWal,
  type HistoryRow,
  lockName,
  recordApplied,
  recordOutsideTransaction,
  recordReverted,
  resetSession,
  setSessionTimeouts,
  type Timeouts,
} from "./sql_builders.ts";
import { describeFailure, type FailureReport, failureReport, StatementError } from "./failure.ts";
import type { SqlStatement } from "./sql_split.ts";
import { hostname } from "node:os";

/**
 * Options of {@linkcode Migrator}, frozen on construction.
 *
 * @example
 * ```ts
 * const migrator = new Migrator(session, {
 *   root: Deno.cwd(),
 *   migrationsDir: "migrations",
 *   repeatableDirs: ["functions", "policies"],
 *   historySchema: "strata",
 *   lockTimeoutMs: 5000,
 *   statementTimeoutMs: 0,
 *   lockRetries: 5,
 *   retryBaseDelayMs: 250,
 *   retryMaxDelayMs: 10_000,
 *   lockWaitMs: 300_000,
 *   allowOutOfOrder: false,
 * });
 * const { results, error } = await migrator.migrate();
 * ```
 */
export interface MigratorOptions {
  /** Project root; the directories below are relative to it. */
  readonly root: string;
  readonly migrationsDir: string;
  /** Repeatable directories, applied in this order (`functions`, then `policies`). */
  readonly repeatableDirs: readonly string[];
  /** Schema of the history table. */
  readonly historySchema: string;
  readonly lockTimeoutMs: number;
  /** 0 disables the statement timeout. */
  readonly statementTimeoutMs: number;
  /** Attempts after a lock timeout (1 = no retry). */
  readonly lockRetries: number;
  readonly retryBaseDelayMs: number;
  readonly retryMaxDelayMs: number;
  /** How long to wait for another runner's migration lock. */
  readonly lockWaitMs: number;
  readonly allowOutOfOrder: boolean;
  /** Progress: retries, index cleanups, each result as it happens. */
  readonly onEvent?: (event: MigrationEvent) => void;
}

/** What the runner reports while it works. */
export type MigrationEvent =
  | { readonly type: "lock-wait"; readonly holder: number | null }
  | { readonly type: "bookkeeping"; readonly versions: readonly number[] }
  | {
    readonly type: "retry";
    readonly file: string;
    readonly attempt: number;
    readonly delayMs: number;
    readonly sqlstate: string | null;
    readonly message: string;
  }
  | { readonly type: "invalid-index-dropped"; readonly file: string; readonly index: string }
  | { readonly type: "result"; readonly result: MigrationResult };

/** The outcome of one migration or repeatable. */
export interface MigrationResult {
  readonly kind: "versioned" | "repeatable";
  readonly version: string;
  readonly name: string;
  readonly file: string;
  readonly direction: "up" | "down";
  readonly status: "applied" | "reverted" | "failed";
  readonly durationMs: number;
  readonly attempts: number;
  readonly failure?: FailureReport;
}

/** The outcome of a run: a result per migration, and the error that stopped it, if any. */
export interface RunResult {
  readonly results: readonly MigrationResult[];
  readonly error: StrataError | null;
}

/** One line of `status`. */
export interface StatusEntry {
  readonly version: string;
  readonly name: string;
  readonly kind: "versioned" | "repeatable";
  readonly status: "applied" | "pending" | "modified" | "missing";
  readonly file: string | null;
  readonly applied_at: string | null;
}

/** Everything `status` shows. */
export interface StatusReport {
  readonly migrations: readonly StatusEntry[];
  readonly invalid_indexes: readonly InvalidIndex[];
}

/** What `plan` would run, in order. */
export interface PlanStep {
  readonly file: string;
  readonly sql: string;
}

/**
 * The migration runner. Each method reports per-migration results instead of
 * throwing for migration failures; it throws only for problems outside any
 * migration (unreachable database, lock not acquired).
 */
export class Migrator {
  readonly #session: Session;
  readonly #options: MigratorOptions;
  readonly #runner = `${hostname()}:${Deno.pid}`;
  /** An asynchronous commit happened since the last WAL flush. */
  #unflushed = false;

  constructor(session: Session, options: MigratorOptions) {
    this.#session = session;
    this.#options = Object.freeze({ ...options });
  }

  /** Applies pending versioned migrations, then new or changed repeatables. */
  async migrate(options: { target?: string } = {}): Promise<RunResult> {
    return await this.#locked(async () => {
      const { versioned, repeatables, history, problems } = await this.#load();
      if (problems.length > 0) return { results: [], error: validationError(problems) };
      const applied = new Set(history.filter((h) => h.kind === "versioned").map((h) => h.version));
      const pending = versioned.filter((m) =>
        !applied.has(m.version) && (options.target === undefined || compareVersions(m.version, options.target) <= 0)
      );
      const repeatableSums = new Map(
        history.filter((h) => h.kind === "repeatable").map((h) => [h.version, h.checksum]),
      );
      // Repeatables follow the newest schema: a partial migration (--target) leaves them for later.
      const changed = options.target === undefined
        ? repeatables.filter((r) => repeatableSums.get(r.version) !== r.checksum)
        : [];

      // Parse everything first: a broken file stops the run before anything runs.
      let prepared: Prepared[];
      try {
        prepared = await this.#prepareAll([...pending, ...changed]);
      } catch (error) {
        return { results: [], error: asMigrationError(error) };
      }
      return await this.#applyAll(prepared, "up");
    });
  }

  /** Reverts applied migrations, newest first: `steps` of them (default 1) or down to `to` (exclusive). */
  async down(options: { steps?: number; to?: string } = {}): Promise<RunResult> {
    return await this.#locked(async () => {
      const { versioned, history, problems } = await this.#load();
      const blocking = problems.filter((p) => p.kind !== "out-of-order");
      if (blocking.length > 0) return { results: [], error: validationError(blocking) };
      const byVersion = new Map(versioned.map((m) => [m.version, m]));
      let targets = history.filter((h) => h.kind === "versioned").map((h) => byVersion.get(h.version)!)
        .sort((a, b) => compareVersions(b.version, a.version));
      if (options.to !== undefined) targets = targets.filter((m) => compareVersions(m.version, options.to!) > 0);
      else targets = targets.slice(0, options.steps ?? 1);
      let prepared: Prepared[];
      try {
        prepared = await this.#prepareAll(targets);
        const noDown = prepared.find((p) => p.down === null);
        if (noDown) throw new MigrationError(`${noDown.source.file} has no down section: it cannot be reverted`);
      } catch (error) {
        return { results: [], error: asMigrationError(error) };
      }
      return await this.#applyAll(prepared, "down");
    });
  }

  /** Versioned and repeatable files against the history, plus INVALID indexes. Takes no lock. */
  async status(): Promise<StatusReport> {
    const { versioned, repeatables, history } = await this.#load();
    const entries: StatusEntry[] = [];
    for (const kind of ["versioned", "repeatable"] as const) {
      const files = kind === "versioned" ? versioned : repeatables;
      const rows = new Map(history.filter((h) => h.kind === kind).map((h) => [h.version, h]));
      for (const f of files) {
        const row = rows.get(f.version);
        rows.delete(f.version);
        entries.push({
          version: f.version,
          name: f.name,
          kind,
          status: !row ? "pending" : row.checksum === f.checksum ? "applied" : "modified",
          file: f.file,
          applied_at: row ? new Date(row.applied_at).toISOString() : null,
        });
      }
      for (const row of rows.values()) {
        entries.push({
          version: row.version,
          name: row.name,
          kind,
          status: "missing",
          file: null,
          applied_at: new Date(row.applied_at).toISOString(),
        });
      }
    }
    entries.sort((a, b) =>
      a.kind !== b.kind
        ? (a.kind === "versioned" ? -1 : 1)
        : a.kind === "versioned"
        ? compareVersions(a.version, b.version)
        : 0
    );
    return { migrations: entries, invalid_indexes: await listInvalidIndexes(this.#session) };
  }

  /** The exact SQL `migrate` would send now, without changing anything. */
  async plan(options: { target?: string } = {}): Promise<{ steps: PlanStep[]; error: StrataError | null }> {
    const { versioned, repeatables, history, problems } = await this.#load();
    if (problems.length > 0) return { steps: [], error: validationError(problems) };
    const applied = new Set(history.filter((h) => h.kind === "versioned").map((h) => h.version));
    const sums = new Map(history.filter((h) => h.kind === "repeatable").map((h) => [h.version, h.checksum]));
    const todo = [
      ...versioned.filter((m) =>
        !applied.has(m.version) && (options.target === undefined || compareVersions(m.version, options.target) <= 0)
      ),
      ...(options.target === undefined ? repeatables.filter((r) => sums.get(r.version) !== r.checksum) : []),
    ];
    const steps: PlanStep[] = [];
    try {
      for (const source of todo) {
        const p = await prepare(source, this.#defaults());
        steps.push({ file: source.file, sql: await this.#planStep(p) });
      }
    } catch (error) {
      return { steps, error: asMigrationError(error) };
    }
    return { steps, error: null };
  }

  /**
   * Accepts the files as they are now: stores current checksums of modified
   * migrations and forgets applied migrations whose file is gone.
   */
  async repair(): Promise<{ updated: string[]; forgotten: string[] }> {
    return await this.#locked(async () => {
      const { problems } = await this.#load();
      const updated: string[] = [];
      const forgotten: string[] = [];
      for (const p of problems) {
        if (p.kind === "modified") {
          await updateChecksum(this.#session, this.#options.historySchema, p.version, p.checksum!);
          updated.push(p.file!);
        } else if (p.kind === "missing") {
          await forgetVersion(this.#session, this.#options.historySchema, p.version);
          forgotten.push(`${p.version}_${p.name}`);
        }
      }
      return { updated, forgotten };
    });
  }

  /** Problems `repair` would fix, without the lock. */
  async problems(): Promise<Problem[]> {
    return (await this.#load()).problems;
  }

  async #locked<T>(fn: () => Promise<T>): Promise<T> {
    const release = await acquireAdvisoryLock(this.#session, lockName(this.#options.historySchema), {
      waitMs: this.#options.lockWaitMs,
      onWait: (holder) => this.#emit({ type: "lock-wait", holder }),
    });
    try {
      const versions = await ensureBookkeeping(this.#session, this.#options.historySchema).catch((error) => {
        if (isConnectionFailure(error)) throw error;
        throw new MigrationError(
          `cannot create or upgrade the bookkeeping schema ${this.#options.historySchema}: ${
            sqlState(error) ? `SQLSTATE ${sqlState(error)}: ` : ""
          }${(error as Error).message}`,
          { cause: error },
        );
      });
      if (versions.length > 0) this.#emit({ type: "bookkeeping", versions });
      return await fn();
    } finally {
      await release();
    }
  }

  async #load() {
    const o = this.#options;
    const [versioned, repeatables, history] = await Promise.all([
      readVersioned(o.root, o.migrationsDir),
      readRepeatables(o.root, o.repeatableDirs),
      readHistory(this.#session, o.historySchema),
    ]);
    return { versioned, repeatables, history, problems: findProblems(versioned, history, o.allowOutOfOrder) };
  }

  /** Parses one file at a time: the WASM parser is single-threaded, and interleaving only costs memory. */
  async #prepareAll(sources: readonly SourceFile[]): Promise<Prepared[]> {
    const prepared: Prepared[] = [];
    for (const source of sources) prepared.push(await prepare(source, this.#defaults()));
    return prepared;
  }

  #defaults(): Timeouts {
    return {
      lock: toPgDuration(this.#options.lockTimeoutMs),
      statement: toPgDuration(this.#options.statementTimeoutMs),
    };
  }

  #emit(event: MigrationEvent): void {
    this.#options.onEvent?.(event);
  }

  async #applyAll(prepared: Prepared[], direction: "up" | "down"): Promise<RunResult> {
    try {
      return await this.#applyEach(prepared, direction);
    } finally {
      if (this.#unflushed) {
        await this.#session.exec(flushWal());
        this.#unflushed = false;
      }
    }
  }

  async #applyEach(prepared: Prepared[], direction: "up" | "down"): Promise<RunResult> {
    const results: MigrationResult[] = [];
    for (const p of prepared) {
      const result = await this.#applyOne(p, direction);
      results.push(result);
      this.#emit({ type: "result", result });
      if (result.status === "failed") {
        const lastGood = direction === "up"
          ? results.filter((r) => r.status === "applied" && r.kind === "versioned").at(-1)?.version
          : undefined;
        return {
          results,
          error: new MigrationError(describeFailure(result.failure!, { lastGood })),
        };
      }
    }
    return { results, error: null };
  }

  async #applyOne(p: Prepared, direction: "up" | "down"): Promise<MigrationResult> {
    const body = direction === "up" ? p.up : p.down!;
    const finish = (durationMs: number | null) =>
      direction === "up"
        ? recordApplied(this.#options.historySchema, this.#historyRow(p.source, durationMs))
        : recordReverted(this.#options.historySchema, p.source.version);
    const base = {
      kind: p.source.kind,
      version: p.source.version,
      name: p.source.name,
      file: p.source.file,
      direction,
    } as const;
    const outcome = p.transaction
      ? await this.#runTransactional(p, body, finish)
      : await this.#runNonTransactional(p, body, finish);
    return {
      ...base,
      status: outcome.failure ? "failed" : direction === "up" ? "applied" : "reverted",
      durationMs: outcome.durationMs,
      attempts: outcome.attempts,
      ...(outcome.failure ? { failure: outcome.failure } : {}),
    };
  }

  #historyRow(source: SourceFile, durationMs: number | null): HistoryRow {
    return {
      kind: source.kind,
      version: source.version,
      name: source.name,
      checksum: source.checksum,
      durationMs,
      runner: this.#runner,
    };
  }

  async #runTransactional(p: Prepared, body: Body, finish: (ms: number | null) => string): Promise<Outcome> {
    const s = this.#session;
    for (let attempt = 1;; attempt++) {
      const started = performance.now();
      try {
        if (body.kind === "sql") {
          await runPipelined(s, beginTransaction(p.timeouts), body.statements, commitTransaction(finish(null)));
        } else {
          await s.exec(beginTransaction(p.timeouts));
          await body.run(s.db);
          await s.exec(commitTransaction(finish(null)));
        }
        this.#unflushed = true;
        return { durationMs: performance.now() - started, attempts: attempt };
      } catch (error) {
        await s.exec("rollback").catch(() => {});
        const cause = error instanceof StatementError ? error.cause : error;
        if (isLockContention(cause) && attempt < this.#options.lockRetries) {
          await this.#backoff(p.source.file, attempt, cause);
          continue;
        }
        return {
          durationMs: performance.now() - started,
          attempts: attempt,
          failure: failureReport(p.source, error, { transactional: true }),
        };
      }
    }
  }

  async #runNonTransactional(p: Prepared, body: Body, finish: (ms: number | null) => string): Promise<Outcome> {
    const s = this.#session;
    const started = performance.now();
    const ran: SqlStatement[] = [];
    let attempt = 1;
    await s.exec(setSessionTimeouts(p.timeouts));
    try {
      if (body.kind === "ts") {
        await body.run(s.db);
      } else {
        for (const statement of body.statements) {
          for (;; attempt++) {
            try {
              await this.#dropInvalidIndex(p, statement.concurrentIndex);
              await s.exec(statement.sql);
              break;
            } catch (error) {
              // Each statement commits on its own, so retrying the one that timed out is safe.
              if (isLockContention(error) && attempt < this.#options.lockRetries) {
                await this.#backoff(p.source.file, attempt, error);
                continue;
              }
              throw new StatementError(statement, error);
            }
          }
          ran.push(statement);
        }
      }
      const durationMs = performance.now() - started;
      await s.exec(recordOutsideTransaction(finish(durationMs)));
      return { durationMs, attempts: attempt };
    } catch (error) {
      return {
        durationMs: performance.now() - started,
        attempts: attempt,
        failure: failureReport(p.source, error, { transactional: false, ran }),
      };
    } finally {
      await s.exec(resetSession());
    }
  }

  async #dropInvalidIndex(p: Prepared, target: Prepared["concurrentIndexes"][number] | null): Promise<void> {
    if (!target) return;
    const invalid = await findInvalidIndex(this.#session, target);
    if (!invalid) return;
    await this.#session.exec(dropIndexConcurrently(invalid.schema, invalid.name));
    this.#emit({ type: "invalid-index-dropped", file: p.source.file, index: `${invalid.schema}.${invalid.name}` });
  }

  async #backoff(file: string, attempt: number, error: unknown): Promise<void> {
    const o = this.#options;
    const ceiling = Math.min(o.retryMaxDelayMs, o.retryBaseDelayMs * 2 ** (attempt - 1));
    // Full jitter: concurrent runners and app traffic do not retry in lockstep.
    const delayMs = Math.round(ceiling / 2 + Math.random() * ceiling / 2);
    this.#emit({
      type: "retry",
      file,
      attempt,
      delayMs,
      sqlstate: sqlState(error),
      message: (error as Error).message,
    });
    await new Promise((r) => setTimeout(r, delayMs));
  }

  async #planStep(p: Prepared): Promise<string> {
    const lines: string[] = [];
    const body = p.up;
    const statements = body.kind === "sql"
      ? body.statements.map((s) => s.sql)
      : [`-- TypeScript migration: up(db) issues the following when run now`, ...(await body.record())];
    const finish = recordApplied(this.#options.historySchema, this.#historyRow(p.source, 0));
    if (p.transaction) {
      lines.push(
        `${beginTransaction(p.timeouts)};`,
        ...statements.map((s) => `${s};`),
        `${commitTransaction(finish)};`,
      );
    } else {
      lines.push(`${setSessionTimeouts(p.timeouts)};`);
      for (const target of p.concurrentIndexes) {
        const invalid = await findInvalidIndex(this.#session, target);
        if (invalid) {
          lines.push(`${dropIndexConcurrently(invalid.schema, invalid.name)}; -- INVALID, left by a failed build`);
        }
      }
      lines.push(...statements.map((s) => `${s};`), `${recordOutsideTransaction(finish)};`, `${resetSession()};`);
    }
    return lines.join("\n");
  }
}

interface Outcome {
  readonly durationMs: number;
  readonly attempts: number;
  readonly failure?: FailureReport;
}

/**
 * Sends a transaction's statements without waiting for each reply (one round
 * trip instead of one per statement). After a failure the server rejects the
 * rest as "transaction aborted" and the commit cannot happen, so the first
 * rejection is the one to report.
 */
async function runPipelined(
  session: Session,
  begin: string,
  statements: readonly SqlStatement[],
  commit: string,
): Promise<void> {
  const sent = [session.exec(begin), ...statements.map((st) => session.exec(st.sql)), session.exec(commit)];
  const settled = await Promise.allSettled(sent);
  const failed = settled.findIndex((r) => r.status === "rejected");
  if (failed === -1) return;
  const reason = (settled[failed] as PromiseRejectedResult).reason;
  throw failed >= 1 && failed <= statements.length ? new StatementError(statements[failed - 1], reason) : reason;
}

/** A disagreement between the history table and the files. */
export interface Problem {
  readonly kind: "modified" | "missing" | "out-of-order";
  readonly version: string;
  readonly name: string;
  readonly file: string | null;
  /** The file's current checksum (modified). */
  readonly checksum?: string;
}

function findProblems(
  files: readonly SourceFile[],
  history: readonly { kind: string; version: string; name: string; checksum: string }[],
  allowOutOfOrder: boolean,
): Problem[] {
  const problems: Problem[] = [];
  const byVersion = new Map(files.map((f) => [f.version, f]));
  const applied = history.filter((h) => h.kind === "versioned");
  for (const row of applied) {
    const file = byVersion.get(row.version);
    if (!file) problems.push({ kind: "missing", version: row.version, name: row.name, file: null });
    else if (file.checksum !== row.checksum) {
      problems.push({
        kind: "modified",
        version: row.version,
        name: row.name,
        file: file.file,
        checksum: file.checksum,
      });
    }
  }
  if (!allowOutOfOrder && applied.length > 0) {
    const newest = applied.map((r) => r.version).sort(compareVersions).at(-1)!;
    const appliedSet = new Set(applied.map((r) => r.version));
    for (const f of files) {
      if (!appliedSet.has(f.version) && compareVersions(f.version, newest) < 0) {
        problems.push({ kind: "out-of-order", version: f.version, name: f.name, file: f.file });
      }
    }
  }
  return problems;
}

function validationError(problems: readonly Problem[]): ValidationError {
  const lines = problems.map((p) => {
    switch (p.kind) {
      case "modified":
        return `  ${p.file}: changed after it was applied (checksum differs)`;
      case "missing":
        return `  ${p.version}_${p.name}: applied, but its file is missing from the migrations directory`;
      case "out-of-order":
        return `  ${p.file}: pending, but older than the newest applied migration (set migrations.allow_out_of_order to apply it)`;
    }
  });
  const fix = problems.some((p) => p.kind !== "out-of-order")
    ? "\nRestore the files, or accept them as they are with `migrate repair --yes`."
    : "";
  return new ValidationError(`migration history does not match the files:\n${lines.join("\n")}${fix}`);
}

function asMigrationError(error: unknown): StrataError {
  if (error instanceof MigrationError) return error;
  const e = error as { file?: string; line?: number; column?: number; message: string };
  if (e.file !== undefined && e.line !== undefined) {
    return new MigrationError(
      e.message.startsWith(e.file) ? e.message : `${e.file}:${e.line}:${e.column ?? 1}: ${e.message}`,
      {
        cause: error,
      },
    );
  }
  if ((error as { exitCode?: number }).exitCode !== undefined) return error as StrataError;
  return new MigrationError((error as Error).message, { cause: error });
}
