import type { SourceFile } from "./source.ts";
import type { SqlStatement } from "./sql_split.ts";
import { sqlState } from "../db/sqlstate.ts";
import { locateInFile } from "./sql_file.ts";

/** Wraps an error with the statement that raised it. */
export class StatementError extends Error {
  readonly statement: SqlStatement;
  constructor(statement: SqlStatement, cause: unknown) {
    super((cause as Error)?.message ?? String(cause), { cause });
    this.statement = statement;
  }
}

/** Where and why a migration failed: the JSON shape of a failure. */
export interface FailureReport {
  readonly file: string;
  readonly line: number | null;
  readonly column: number | null;
  readonly statement: string | null;
  readonly sqlstate: string | null;
  readonly message: string;
  readonly detail: string | null;
  readonly hint: string | null;
  readonly transactional: boolean;
  /** No-transaction migrations: statements that ran (and stay applied) before the failure. */
  readonly statementsRun: number | null;
  /** No-transaction migrations: where each statement that ran starts (`file:line`), for the report. */
  readonly ranAt: readonly string[];
}

/** Builds the report, mapping PostgreSQL's error position back to the file. */
export function failureReport(
  source: SourceFile,
  error: unknown,
  options: { transactional: boolean; ran?: readonly SqlStatement[] },
): FailureReport {
  const statement = error instanceof StatementError ? error.statement : null;
  const cause = error instanceof StatementError ? error.cause : error;
  const pg = cause as { position?: string; detail?: string; hint?: string; message?: string };
  let line = statement?.line ?? null;
  let column = statement?.column ?? null;
  const position = Number(pg.position);
  if (statement && Number.isInteger(position) && position > 0) {
    ({ line, column } = locateInFile(statement, position));
  }
  return {
    file: source.file,
    line,
    column,
    statement: statement?.sql ?? null,
    sqlstate: sqlState(cause),
    message: pg.message ?? String(cause),
    detail: pg.detail ?? null,
    hint: pg.hint ?? null,
    transactional: options.transactional,
    statementsRun: options.transactional ? null : options.ran?.length ?? 0,
    ranAt: (options.ran ?? []).map((st) => `${source.file}:${st.line}`),
  };
}

/** The human-readable report of a failed migration. */
export function describeFailure(f: FailureReport, context: { lastGood?: string }): string {
  const where = f.line !== null ? `${f.file}:${f.line}:${f.column}` : f.file;
  const lines = [`migration failed at ${where}`];
  lines.push(`  ${f.sqlstate ? `SQLSTATE ${f.sqlstate}: ` : ""}${f.message}`);
  if (f.detail) lines.push(`  detail: ${f.detail}`);
  if (f.hint) lines.push(`  hint: ${f.hint}`);
  if (f.statement) lines.push(`  statement: ${oneLine(f.statement)}`);
  if (f.transactional) {
    lines.push(`  rolled back${context.lastGood ? `; the database is at ${context.lastGood}` : ""}`);
  } else {
    lines.push(
      `  no-transaction migration: ${f.statementsRun} statement(s) before the failing one ran and stay applied` +
        (f.ranAt.length ? ` (${f.ranAt.join(", ")})` : "") +
        "; it is not recorded, so the next run starts it again from its first statement",
    );
  }
  return lines.join("\n");
}

function oneLine(sql: string): string {
  const flat = sql.replace(/\s+/g, " ").trim();
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}
