/**
 * Reads Strata's SQL file format: optional header directives, then either a
 * plain body (up-only migrations and repeatables) or `-- strata:up` and
 * `-- strata:down` sections.
 *
 * ```sql
 * -- strata:no-transaction
 * -- strata:lock-timeout 10s
 * -- strata:statement-timeout 5min
 *
 * -- strata:up
 * CREATE TABLE t (id int);
 *
 * -- strata:down
 * DROP TABLE t;
 * ```
 *
 * Directives are recognised from PostgreSQL's own tokens, so a
 * `-- strata:down` line inside a dollar-quoted function body or a string is
 * body text, not a section marker.
 *
 * @module
 */

import { lineColumnAt, scanSql, splitSql, SqlSyntaxError } from "./sql_split.ts";
import type { SqlStatement, SqlToken } from "./sql_split.ts";
import { parseDuration } from "../config/duration.ts";

/** One runnable part of a SQL file: the up or the down section. */
export interface SqlSection {
  /** The section body exactly as in the file (markers excluded). */
  readonly text: string;
  /** 1-based line where the section body starts in the file. */
  readonly line: number;
  /** JS string index where the section body starts in the file. */
  readonly offset: number;
  /** Statements; their offset, line and column are relative to the file. */
  readonly statements: readonly SqlStatement[];
}

/** Header directives of a SQL file; they apply to both sections. */
export interface SqlFileDirectives {
  /** `false` when the file has `-- strata:no-transaction`. */
  readonly transaction: boolean;
  /** Normalised value for `SET lock_timeout = '...'`, or `null`. */
  readonly lockTimeout: string | null;
  /** Normalised value for `SET statement_timeout = '...'`, or `null`. */
  readonly statementTimeout: string | null;
}

/** A SQL file split into directives and sections. */
export interface ParsedSqlFile {
  /** The header directives. */
  readonly directives: SqlFileDirectives;
  /** The up section, or the whole body of an up-only or repeatable file. */
  readonly up: SqlSection;
  /** The down section, `null` when the file has none. */
  readonly down: SqlSection | null;
}

/** Options of {@linkcode parseSqlFile}. */
export interface ParseSqlFileOptions {
  /**
   * Whether `-- strata:up` / `-- strata:down` markers are allowed (default
   * `true`). Repeatable files pass `false`: the whole file is the body.
   */
  readonly sections?: boolean;
}

/** A SQL file breaks the format rules or does not parse. */
export class SqlFileError extends Error {
  /** The file name, as passed to {@linkcode parseSqlFile}. */
  readonly file: string;
  /** 1-based line in the file. */
  readonly line: number;
  /** 1-based column (code points) in the file. */
  readonly column: number;
  /** The problem without the location prefix. */
  readonly reason: string;

  /** Builds the error; the message reads `file:line:column: reason`. */
  constructor(
    file: string,
    line: number,
    column: number,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`${file}:${line}:${column}: ${reason}`, options);
    this.name = "SqlFileError";
    this.file = file;
    this.line = line;
    this.column = column;
    this.reason = reason;
  }
}

type DirectiveName =
  | "up"
  | "down"
  | "no-transaction"
  | "lock-timeout"
  | "statement-timeout";

const TAKES_VALUE: Record<DirectiveName, boolean> = {
  "up": false,
  "down": false,
  "no-transaction": false,
  "lock-timeout": true,
  "statement-timeout": true,
};

interface Directive {
  readonly name: DirectiveName;
  readonly value: string | null;
  readonly token: SqlToken;
  readonly line: number;
  readonly column: number;
  readonly valueColumn: number;
}

/**
 * Parses a migration or repeatable SQL file.
 *
 * Header directives (`no-transaction`, `lock-timeout VALUE`,
 * `statement-timeout VALUE`) go before `-- strata:up`, or before the first
 * statement of a file without sections. A file without `-- strata:up` is
 * up-only: its whole body is the up section and `down` is `null`.
 *
 * @param file Name used in error messages.
 * @param text The file contents.
 * @throws {SqlFileError} for a format violation or a syntax error, with the
 * file line and column.
 */
export async function parseSqlFile(
  file: string,
  text: string,
  options: ParseSqlFileOptions = {},
): Promise<ParsedSqlFile> {
  const sections = options.sections ?? true;
  // A byte-order mark is not whitespace to PostgreSQL; a same-length blank
  // keeps every offset, line and column of the file unchanged.
  const source = text.startsWith("\uFEFF") ? ` ${text.slice(1)}` : text;
  const fail: Fail = (line, column, reason) => {
    throw new SqlFileError(file, line, column, reason);
  };

  const tokens = await withFileErrors(file, () => scanSql(source, { file }));
  const hasUp = sections &&
    tokens.some((token) => token.comment && DIRECTIVE.exec(token.text)?.[1].toLowerCase() === "up");
  const seen = new Map<DirectiveName, Directive>();
  let lockTimeout: string | null = null;
  let statementTimeout: string | null = null;
  let firstStatement: SqlToken | null = null;
  for (const token of tokens) {
    if (!token.comment) {
      if (firstStatement !== null) continue;
      firstStatement = token;
      if (hasUp && !seen.has("up")) {
        const at = lineColumnAt(source, token.start);
        fail(
          at.line,
          at.column,
          `unexpected SQL before "-- strata:up"; only comments and header directives may come first`,
        );
      }
      continue;
    }
    const directive = readDirective(source, token, fail);
    if (directive === null) continue;
    const { name, line, column } = directive;
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      fail(
        line,
        column,
        `duplicate "-- strata:${name}" (first on line ${earlier.line})`,
      );
    }
    seen.set(name, directive);
    switch (name) {
      case "up":
      case "down":
        if (!sections) {
          fail(
            line,
            column,
            `"-- strata:${name}" is not allowed in a repeatable file; its whole body runs every time`,
          );
        }
        if (name === "down" && hasUp && !seen.has("up")) {
          fail(
            line,
            column,
            `"-- strata:down" must come after "-- strata:up"`,
          );
        }
        if (name === "down" && !hasUp) {
          fail(
            line,
            column,
            `"-- strata:down" without "-- strata:up"; mark the up part with "-- strata:up"`,
          );
        }
        break;
      default:
        if (hasUp && seen.has("up")) {
          fail(
            line,
            column,
            `"-- strata:${name}" must come before "-- strata:up"`,
          );
        }
        if (!hasUp && firstStatement !== null) {
          fail(
            line,
            column,
            `"-- strata:${name}" must come before the first statement`,
          );
        }
        if (name === "lock-timeout") lockTimeout = durationOf(directive, fail);
        if (name === "statement-timeout") {
          statementTimeout = durationOf(directive, fail);
        }
    }
  }

  const parsedDirectives: SqlFileDirectives = {
    transaction: !seen.has("no-transaction"),
    lockTimeout,
    statementTimeout,
  };
  const up = seen.get("up");
  const down = seen.get("down");
  // One parse of the whole file: the down marker becomes a `;` of the same
  // length, so the last up statement may omit its own `;` (as in a file
  // without sections) while every offset stays the file's.
  const parsable = down === undefined
    ? source
    : source.slice(0, down.token.start) + ";".padEnd(down.token.end - down.token.start) +
      source.slice(down.token.end);
  const statements = await withFileErrors(file, () => splitSql(parsable, { file, tokens }));
  if (!hasUp || up === undefined) {
    return { directives: parsedDirectives, up: section(source, 0, source.length, statements), down: null };
  }
  const upStart = lineAfter(source, up.token.end);
  const upEnd = down === undefined ? source.length : lineStart(source, down.token.start);
  return {
    directives: parsedDirectives,
    up: section(source, upStart, upEnd, statements),
    down: down === undefined ? null : section(source, lineAfter(source, down.token.end), source.length, statements),
  };
}

/**
 * The first statement of `section` that PostgreSQL refuses inside a
 * transaction block, so the runner can refuse a transactional migration
 * before running anything.
 */
export function firstNonTransactional(
  section: SqlSection,
): SqlStatement | null {
  return section.statements.find((statement) => statement.nonTransactional !== null) ?? null;
}

/**
 * Maps PostgreSQL's error `position` (a 1-based character index into the
 * statement text as sent, i.e. `statement.sql`) to the file line and
 * column. Positions outside the statement are clamped to it.
 */
export function locateInFile(
  statement: SqlStatement,
  position: number,
): { line: number; column: number } {
  let line = statement.line;
  let column = statement.column;
  let remaining = Number.isFinite(position) ? Math.floor(position) - 1 : 0;
  // Iterating a string walks code points, PostgreSQL's unit for positions.
  for (const char of statement.sql) {
    if (remaining <= 0) break;
    remaining--;
    if (char === "\n") {
      line++;
      column = 1;
    } else {
      column++;
    }
  }
  return { line, column };
}

const DIRECTIVE_PREFIX = /^--\s*strata(?![A-Za-z0-9_])/i;
const DIRECTIVE = /^--\s*strata:([A-Za-z][A-Za-z0-9_-]*)(?:\s+(.*?))?\s*$/is;

type Fail = (line: number, column: number, reason: string) => never;

/**
 * The directive in comment `token`, or `null` for an ordinary comment.
 * Anything that starts like a directive but is malformed is an error: a
 * mistyped `-- strata:down` would otherwise run the down part on the way up.
 */
function readDirective(
  source: string,
  token: SqlToken,
  fail: Fail,
): Directive | null {
  if (!DIRECTIVE_PREFIX.test(token.text)) return null;
  const at = lineColumnAt(source, token.start);
  const before = source.slice(lineStart(source, token.start), token.start);
  if (before.trim() !== "") {
    fail(at.line, at.column, "a strata directive must be on a line of its own");
  }
  const match = DIRECTIVE.exec(token.text);
  if (match === null) {
    fail(
      at.line,
      at.column,
      `malformed directive "${token.text.trim()}"; expected "-- strata:NAME [VALUE]"`,
    );
  }
  const name = match[1].toLowerCase();
  if (!Object.hasOwn(TAKES_VALUE, name)) {
    fail(
      at.line,
      at.column,
      `unknown directive "-- strata:${match[1]}"; known: ${Object.keys(TAKES_VALUE).join(", ")}`,
    );
  }
  const value = match[2] || null;
  const valueIndex = value === null ? token.end : token.start + token.text.lastIndexOf(value);
  const directive: Directive = {
    name: name as DirectiveName,
    value,
    token,
    line: at.line,
    column: at.column,
    valueColumn: lineColumnAt(source, valueIndex).column,
  };
  if (TAKES_VALUE[directive.name] && value === null) {
    fail(at.line, at.column, `"-- strata:${name}" needs a value, e.g. 5s`);
  }
  if (!TAKES_VALUE[directive.name] && value !== null) {
    fail(
      at.line,
      directive.valueColumn,
      `"-- strata:${name}" takes no value (got "${value}")`,
    );
  }
  return directive;
}

/** The normalised duration of a timeout directive. */
function durationOf(directive: Directive, fail: Fail): string {
  try {
    return parseDuration(directive.value ?? "").text;
  } catch (error) {
    if (!(error instanceof RangeError)) throw error;
    return fail(directive.line, directive.valueColumn, error.message);
  }
}

/** Index of the start of the line holding `index`. */
function lineStart(source: string, index: number): number {
  return source.lastIndexOf("\n", index - 1) + 1;
}

/** Index of the start of the line after the one holding `index`. */
function lineAfter(source: string, index: number): number {
  const newline = source.indexOf("\n", index);
  return newline === -1 ? source.length : newline + 1;
}

/** The statements of the file that lie in [start, end). */
function section(source: string, start: number, end: number, statements: readonly SqlStatement[]): SqlSection {
  return {
    text: source.slice(start, end),
    line: lineColumnAt(source, start).line,
    offset: start,
    statements: statements.filter((statement) => statement.offset >= start && statement.offset < end),
  };
}

/** Runs `work`, turning parser errors into {@linkcode SqlFileError}s. */
async function withFileErrors<T>(
  file: string,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof SqlSyntaxError) {
      throw new SqlFileError(file, error.line, error.column, error.reason, {
        cause: error,
      });
    }
    throw error;
  }
}
