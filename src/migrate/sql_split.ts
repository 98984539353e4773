/**
 * Splits SQL text into statements with the real PostgreSQL parser
 * (libpg-query), so dollar quotes, nested comments, E'' strings and quoted
 * identifiers are handled exactly as the server would, and classifies the
 * statements PostgreSQL refuses to run inside a transaction block.
 *
 * @module
 */

import type { DefElem, Node, RawStmt, ScanToken } from "libpg-query";

let parser: Promise<typeof import("libpg-query")> | undefined;

/**
 * The WebAssembly parser, loaded on first use: instantiating it costs tens
 * of milliseconds that a no-op `migrate` or a `status` should not pay.
 */
function libpgQuery(): Promise<typeof import("libpg-query")> {
  parser ??= import("libpg-query");
  return parser;
}

/** One statement of a SQL text. */
export interface SqlStatement {
  /**
   * Statement text exactly as in the source, from its first real token
   * (leading comments and whitespace skipped) to the end of its last real
   * token, without the trailing `;` or trailing comments.
   */
  readonly sql: string;
  /**
   * JS string index (UTF-16) of `sql` within the text passed to
   * {@linkcode splitSql}. Statements of a section returned by `parseSqlFile`
   * carry an index into the whole file instead.
   */
  readonly offset: number;
  /** 1-based line of `offset`, plus the `lineOffset` option. */
  readonly line: number;
  /** 1-based column of `offset`, counted in Unicode code points. */
  readonly column: number;
  /** The parse-node type, e.g. `"IndexStmt"`, `"CreateStmt"`, `"DoStmt"`. */
  readonly kind: string;
  /**
   * `null`, or a label such as `"CREATE INDEX CONCURRENTLY"` when PostgreSQL
   * refuses this statement inside a transaction block. Transaction control
   * statements get a label ending in `"(transaction control)"`.
   */
  readonly nonTransactional: string | null;
  /**
   * For `CREATE INDEX CONCURRENTLY` with an explicit name: the index to look
   * for after a failure (an index always lives in its table's schema, so
   * `schema` equals `tableSchema`; both are `null` when unqualified).
   */
  readonly concurrentIndex: ConcurrentIndex | null;
}

/** The index a `CREATE INDEX CONCURRENTLY` statement builds. */
export interface ConcurrentIndex {
  /** Schema of the index, `null` when the table name is unqualified. */
  readonly schema: string | null;
  /** Index name, case-folded as PostgreSQL does. */
  readonly name: string;
  /** Table the index is built on. */
  readonly table: string;
  /** Schema of the table, `null` when unqualified. */
  readonly tableSchema: string | null;
}

/** Options of {@linkcode splitSql}. */
export interface SplitSqlOptions {
  /**
   * Number of lines that precede the text in its file; added to every
   * reported line. The text is assumed to start at column 1.
   */
  readonly lineOffset?: number;
  /** File name used in error messages. */
  readonly file?: string;
  /**
   * Tokens of exactly this text from {@linkcode scanSql}, when the caller has
   * them already: each libpg-query call costs time and WASM memory.
   */
  readonly tokens?: readonly SqlToken[];
}

/** The parser rejected the SQL text. */
export class SqlSyntaxError extends Error {
  /** 1-based line of the error cursor, plus the `lineOffset` option. */
  readonly line: number;
  /** 1-based column (code points) of the error cursor. */
  readonly column: number;
  /** JS string index of the error cursor within the text passed in. */
  readonly offset: number;
  /** The PostgreSQL parser message, e.g. `syntax error at or near "SELEC"`. */
  readonly reason: string;
  /** The file name passed in the options, if any. */
  readonly file: string | undefined;

  /** Builds the error; the message reads `file:line:column: reason`. */
  constructor(
    reason: string,
    position: {
      line: number;
      column: number;
      offset: number;
      file?: string;
    },
    options?: ErrorOptions,
  ) {
    super(
      `${position.file ?? "<sql>"}:${position.line}:${position.column}: ${reason}`,
      options,
    );
    this.name = "SqlSyntaxError";
    this.reason = reason;
    this.line = position.line;
    this.column = position.column;
    this.offset = position.offset;
    this.file = position.file;
  }
}

/**
 * Splits `text` into its statements.
 *
 * Empty, whitespace-only and comment-only text yields `[]`.
 *
 * @throws {SqlSyntaxError} when PostgreSQL's parser rejects the text.
 */
export async function splitSql(
  text: string,
  options: SplitSqlOptions = {},
): Promise<SqlStatement[]> {
  const lineOffset = options.lineOffset ?? 0;
  const lines = new LineIndex(text);
  rejectNul(text, options, lines);
  // libpg-query throws on "" instead of returning no statements.
  if (text.trim() === "") return [];

  const raw = await parseOrThrow(text, options, lines);
  if (raw.length === 0) return [];

  const tokens = (options.tokens ?? await scanSql(text, options)).filter((token) => !token.comment);
  const toIndex = byteToIndex(text);
  const statements: SqlStatement[] = [];
  let next = 0;
  for (const rawStmt of raw) {
    const node = rawStmt.stmt;
    if (node === undefined) continue;
    const from = toIndex(rawStmt.stmt_location ?? 0);
    // A missing (zero) length means "up to the end of the text".
    const to = rawStmt.stmt_len ? toIndex((rawStmt.stmt_location ?? 0) + rawStmt.stmt_len) : text.length;
    while (next < tokens.length && tokens[next].start < from) next++;
    const first = next;
    while (next < tokens.length && tokens[next].end <= to) next++;
    if (first === next) continue;
    const start = tokens[first].start;
    const at = lines.at(start);
    statements.push({
      sql: text.slice(start, tokens[next - 1].end),
      offset: start,
      line: at.line + lineOffset,
      column: at.column,
      kind: Object.keys(node)[0],
      nonTransactional: nonTransactionalLabel(node),
      concurrentIndex: concurrentIndexOf(node),
    });
  }
  return statements;
}

/** A lexical token of SQL text, as PostgreSQL's scanner sees it. */
export interface SqlToken {
  /** JS string index where the token starts. */
  readonly start: number;
  /** JS string index just after the token. */
  readonly end: number;
  /** The token text, e.g. `SELECT`, `'it''s'`, `-- note`. */
  readonly text: string;
  /** Whether the token is a `--` or `/* *\/` comment. */
  readonly comment: boolean;
}

/**
 * The tokens of `text`, comments included, from PostgreSQL's own scanner.
 * Lets callers tell a top-level `--` comment from one inside a string or a
 * dollar-quoted body.
 *
 * @throws {SqlSyntaxError} when the text cannot be tokenised, e.g. an
 * unterminated quote.
 */
export async function scanSql(
  text: string,
  options: SplitSqlOptions = {},
): Promise<SqlToken[]> {
  rejectNul(text, options);
  // libpg-query throws on "" instead of returning no tokens.
  if (text === "") return [];
  let tokens: ScanToken[];
  try {
    tokens = (await (await libpgQuery()).scan(text)).tokens ?? [];
  } catch (error) {
    // libpg-query loses the scanner's message (it fails to JSON-parse it)
    // and has no cursor; the parser reports the same lexer error properly.
    const lines = new LineIndex(text);
    await parseOrThrow(text, options, lines);
    throw syntaxError(
      error instanceof Error ? error.message : String(error),
      0,
      options,
      lines,
      error,
    );
  }
  const toIndex = byteToIndex(text);
  return tokens.map((token) => {
    const start = toIndex(token.start);
    const end = toIndex(token.end);
    return {
      start,
      end,
      text: text.slice(start, end),
      comment: token.tokenName === "SQL_COMMENT" ||
        token.tokenName === "C_COMMENT",
    };
  });
}

/**
 * The 1-based line and column of the JS string index `offset` in `text`.
 * Lines end at `\n`; columns count Unicode code points, so an emoji is one
 * column, the same unit PostgreSQL uses for error positions.
 */
export function lineColumnAt(
  text: string,
  offset: number,
): { line: number; column: number } {
  return new LineIndex(text).at(offset);
}

/** The raw statements of `text`, or a {@linkcode SqlSyntaxError}. */
async function parseOrThrow(
  text: string,
  options: SplitSqlOptions,
  lines: LineIndex,
): Promise<RawStmt[]> {
  try {
    return (await (await libpgQuery()).parse(text)).stmts ?? [];
  } catch (error) {
    const details = sqlErrorDetails(error);
    if (details === null) throw error;
    // The cursor counts characters (code points), not bytes or UTF-16 units.
    throw syntaxError(
      details.message,
      codePointToIndex(text, details.cursorPosition),
      options,
      lines,
      error,
    );
  }
}

function syntaxError(
  reason: string,
  offset: number,
  options: SplitSqlOptions,
  lines: LineIndex,
  cause?: unknown,
): SqlSyntaxError {
  const at = lines.at(offset);
  return new SqlSyntaxError(reason, {
    line: at.line + (options.lineOffset ?? 0),
    column: at.column,
    offset,
    file: options.file,
  }, cause === undefined ? undefined : { cause });
}

/**
 * The parser works on a C string, so a NUL would silently truncate the
 * text; PostgreSQL itself rejects NUL in queries.
 */
function rejectNul(
  text: string,
  options: SplitSqlOptions,
  lines?: LineIndex,
): void {
  const nul = text.indexOf("\0");
  if (nul === -1) return;
  throw syntaxError(
    "invalid null character in SQL text",
    nul,
    options,
    lines ?? new LineIndex(text),
  );
}

/** Line starts of a text, so repeated line/column lookups stay cheap. */
class LineIndex {
  readonly #text: string;
  readonly #starts: number[] = [0];

  constructor(text: string) {
    this.#text = text;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) {
      this.#starts.push(i + 1);
    }
  }

  at(offset: number): { line: number; column: number } {
    const clamped = Math.max(0, Math.min(offset, this.#text.length));
    let low = 0;
    let high = this.#starts.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (this.#starts[mid] <= clamped) low = mid;
      else high = mid - 1;
    }
    return {
      line: low + 1,
      column: countCodePoints(this.#text, this.#starts[low], clamped) + 1,
    };
  }
}

/** Code points in `text.slice(from, to)`, without copying it. */
function countCodePoints(text: string, from: number, to: number): number {
  let count = 0;
  for (let i = from; i < to; i++) {
    const unit = text.charCodeAt(i);
    // A low surrogate completes a pair already counted at its high half.
    if (unit >= 0xdc00 && unit <= 0xdfff && i > from) {
      const previous = text.charCodeAt(i - 1);
      if (previous >= 0xd800 && previous <= 0xdbff) continue;
    }
    count++;
  }
  return count;
}

/** JS string index of the `codePoints`-th code point (0-based) of `text`. */
function codePointToIndex(text: string, codePoints: number): number {
  let index = 0;
  for (let seen = 0; seen < codePoints && index < text.length; seen++) {
    const unit = text.charCodeAt(index);
    index += unit >= 0xd800 && unit <= 0xdbff && index + 1 < text.length ? 2 : 1;
  }
  return index;
}

/**
 * A converter from UTF-8 byte offsets (what libpg-query reports for
 * statement and token positions) to JS string indexes.
 */
function byteToIndex(text: string): (byte: number) => number {
  // deno-lint-ignore no-control-regex
  if (/^[\x00-\x7f]*$/.test(text)) return (byte) => byte;
  // bytes[i] is the UTF-8 offset of UTF-16 index i; it only ever grows.
  const bytes = new Float64Array(text.length + 1);
  let byte = 0;
  for (let i = 0; i < text.length; i++) {
    bytes[i] = byte;
    const unit = text.charCodeAt(i);
    if (unit < 0x80) byte += 1;
    else if (unit < 0x800) byte += 2;
    else if (unit >= 0xd800 && unit <= 0xdbff) byte += 2; // half of a 4-byte pair
    else if (unit >= 0xdc00 && unit <= 0xdfff) byte += 2;
    else byte += 3;
  }
  bytes[text.length] = byte;
  return (target) => {
    let low = 0;
    let high = text.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (bytes[mid] < target) low = mid + 1;
      else high = mid;
    }
    return low;
  };
}

interface SqlErrorDetailsShape {
  message: string;
  cursorPosition: number;
}

/** The parser error details libpg-query attaches, or `null` for other errors. */
function sqlErrorDetails(error: unknown): SqlErrorDetailsShape | null {
  if (!(error instanceof Error)) return null;
  const details = (error as { sqlDetails?: Partial<SqlErrorDetailsShape> })
    .sqlDetails;
  if (details === undefined || typeof details.message !== "string") {
    return null;
  }
  return {
    message: details.message,
    cursorPosition: typeof details.cursorPosition === "number" ? Math.max(0, details.cursorPosition) : 0,
  };
}

const TRANSACTION_CONTROL: Record<string, string> = {
  TRANS_STMT_BEGIN: "BEGIN",
  TRANS_STMT_START: "START TRANSACTION",
  TRANS_STMT_COMMIT: "COMMIT",
  TRANS_STMT_ROLLBACK: "ROLLBACK",
  TRANS_STMT_SAVEPOINT: "SAVEPOINT",
  TRANS_STMT_RELEASE: "RELEASE SAVEPOINT",
  TRANS_STMT_ROLLBACK_TO: "ROLLBACK TO SAVEPOINT",
  TRANS_STMT_PREPARE: "PREPARE TRANSACTION",
  TRANS_STMT_COMMIT_PREPARED: "COMMIT PREPARED",
  TRANS_STMT_ROLLBACK_PREPARED: "ROLLBACK PREPARED",
};

/**
 * The label PostgreSQL would use when refusing `node` inside a transaction
 * block (its `PreventInTransactionBlock` calls), or `null`.
 *
 * Only what the statement itself shows can be judged: refusals that depend
 * on catalog state (REINDEX or CLUSTER of a partitioned table, a DO block
 * or procedure that commits) are not detected.
 */
function nonTransactionalLabel(node: Node): string | null {
  if ("TransactionStmt" in node) {
    const kind = node.TransactionStmt.kind ?? "";
    return `${TRANSACTION_CONTROL[kind] ?? kind} (transaction control)`;
  }
  if ("IndexStmt" in node) {
    return node.IndexStmt.concurrent ? "CREATE INDEX CONCURRENTLY" : null;
  }
  if ("DropStmt" in node) {
    const drop = node.DropStmt;
    return drop.concurrent && drop.removeType === "OBJECT_INDEX" ? "DROP INDEX CONCURRENTLY" : null;
  }
  if ("ReindexStmt" in node) {
    const reindex = node.ReindexStmt;
    if (optionEnabled(reindex.params, "concurrently", false)) {
      return "REINDEX CONCURRENTLY";
    }
    switch (reindex.kind) {
      case "REINDEX_OBJECT_SCHEMA":
        return "REINDEX SCHEMA";
      case "REINDEX_OBJECT_SYSTEM":
        return "REINDEX SYSTEM";
      case "REINDEX_OBJECT_DATABASE":
        return "REINDEX DATABASE";
      default:
        return null;
    }
  }
  if ("AlterTableStmt" in node) {
    const detaching = (node.AlterTableStmt.cmds ?? []).some((cmd) =>
      "AlterTableCmd" in cmd &&
      cmd.AlterTableCmd.subtype === "AT_DetachPartition" &&
      cmd.AlterTableCmd.def !== undefined &&
      "PartitionCmd" in cmd.AlterTableCmd.def &&
      cmd.AlterTableCmd.def.PartitionCmd.concurrent === true
    );
    return detaching ? "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY" : null;
  }
  if ("VacuumStmt" in node) {
    // ANALYZE shares the node; only VACUUM is refused.
    return node.VacuumStmt.is_vacuumcmd ? "VACUUM" : null;
  }
  if ("ClusterStmt" in node) {
    // Only the database-wide form (no table) is refused.
    return node.ClusterStmt.relation === undefined ? "CLUSTER" : null;
  }
  if ("CreatedbStmt" in node) return "CREATE DATABASE";
  if ("DropdbStmt" in node) return "DROP DATABASE";
  if ("AlterDatabaseStmt" in node) {
    return hasOption(node.AlterDatabaseStmt.options, "tablespace") ? "ALTER DATABASE ... SET TABLESPACE" : null;
  }
  if ("CreateTableSpaceStmt" in node) return "CREATE TABLESPACE";
  if ("DropTableSpaceStmt" in node) return "DROP TABLESPACE";
  if ("AlterSystemStmt" in node) return "ALTER SYSTEM";
  if ("DiscardStmt" in node) {
    return node.DiscardStmt.target === "DISCARD_ALL" ? "DISCARD ALL" : null;
  }
  if ("CreateSubscriptionStmt" in node) {
    const options = node.CreateSubscriptionStmt.options;
    // create_slot defaults to true unless connect = false.
    const connect = optionEnabled(options, "connect", true);
    return optionEnabled(options, "create_slot", connect) ? "CREATE SUBSCRIPTION ... WITH (create_slot = true)" : null;
  }
  if ("AlterSubscriptionStmt" in node) {
    const alter = node.AlterSubscriptionStmt;
    switch (alter.kind) {
      case "ALTER_SUBSCRIPTION_REFRESH":
        return "ALTER SUBSCRIPTION ... REFRESH PUBLICATION";
      case "ALTER_SUBSCRIPTION_SET_PUBLICATION":
      case "ALTER_SUBSCRIPTION_ADD_PUBLICATION":
      case "ALTER_SUBSCRIPTION_DROP_PUBLICATION":
        return optionEnabled(alter.options, "refresh", true) ? "ALTER SUBSCRIPTION ... PUBLICATION with refresh" : null;
      case "ALTER_SUBSCRIPTION_OPTIONS":
        // Both change the remote slot, which cannot be rolled back.
        if (hasOption(alter.options, "failover")) {
          return "ALTER SUBSCRIPTION ... SET (failover)";
        }
        if (hasOption(alter.options, "two_phase")) {
          return "ALTER SUBSCRIPTION ... SET (two_phase)";
        }
        return null;
      default:
        return null;
    }
  }
  if ("DropSubscriptionStmt" in node) {
    // Refused when the subscription has a replication slot, the usual case;
    // whether slot_name was set to NONE is not visible in the statement.
    return "DROP SUBSCRIPTION";
  }
  return null;
}

function concurrentIndexOf(node: Node): ConcurrentIndex | null {
  if (!("IndexStmt" in node)) return null;
  const index = node.IndexStmt;
  if (!index.concurrent || !index.idxname || !index.relation?.relname) {
    return null;
  }
  const schema = index.relation.schemaname ?? null;
  return {
    schema,
    name: index.idxname,
    table: index.relation.relname,
    tableSchema: schema,
  };
}

function defElems(options: Node[] | undefined): DefElem[] {
  return (options ?? []).flatMap((option) => "DefElem" in option ? [option.DefElem] : []);
}

function hasOption(options: Node[] | undefined, name: string): boolean {
  return defElems(options).some((option) => option.defname === name);
}

/**
 * The boolean value of option `name` as PostgreSQL's `defGetBoolean` reads
 * it, `fallback` when absent. A value PostgreSQL would reject counts as
 * true, so that doubt errs toward refusing the transaction.
 */
function optionEnabled(
  options: Node[] | undefined,
  name: string,
  fallback: boolean,
): boolean {
  const option = defElems(options).findLast((option) => option.defname === name);
  if (option === undefined) return fallback;
  const arg = option.arg;
  if (arg === undefined) return true;
  if ("Boolean" in arg) return arg.Boolean.boolval === true;
  // proto3 JSON leaves out zero values, so `= 0` arrives as `{}`.
  if ("Integer" in arg) return (arg.Integer.ival ?? 0) !== 0;
  let word: string | undefined;
  if ("String" in arg) word = arg.String.sval;
  // `off` is not a keyword, so the grammar reads it as a type name.
  if ("TypeName" in arg) {
    const names = arg.TypeName.names ?? [];
    const last = names.at(-1);
    if (names.length === 1 && last !== undefined && "String" in last) {
      word = last.String.sval;
    }
  }
  const lowered = word?.toLowerCase();
  return lowered !== "false" && lowered !== "off";
}
