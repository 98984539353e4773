import assert from "node:assert/strict";
import { lineColumnAt, scanSql, splitSql, SqlSyntaxError } from "../../src/migrate/sql_split.ts";

/** The `sql` of each statement, the shape most tests compare. */
async function sqlOf(text: string): Promise<string[]> {
  return (await splitSql(text)).map((statement) => statement.sql);
}

async function syntaxError(
  text: string,
  options?: { lineOffset?: number; file?: string },
): Promise<SqlSyntaxError> {
  const error = await splitSql(text, options).then(
    () => assert.fail("expected a SqlSyntaxError"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof SqlSyntaxError, String(error));
  return error;
}

Deno.test("splitSql()", async (t) => {
  await t.step("returns no statements for empty input", async () => {
    assert.deepEqual(await splitSql(""), []);
    assert.deepEqual(await splitSql("  \n\t\n"), []);
  });

  await t.step("returns no statements for comment-only input", async () => {
    assert.deepEqual(
      await splitSql("-- one\n/* two /* nested */ */\n-- three"),
      [],
    );
    assert.deepEqual(await splitSql(";;\n; -- nothing\n"), []);
  });

  await t.step(
    "keeps the exact text without leading comments or the semicolon",
    async () => {
      const text = "-- header\n\n  SELECT  1 ,\n  2 ;\n/* c */ SELECT 3 -- end";
      const statements = await splitSql(text);
      assert.deepEqual(
        statements.map(({ sql, offset, line, column }) => ({
          sql,
          offset,
          line,
          column,
        })),
        [
          { sql: "SELECT  1 ,\n  2", offset: 13, line: 3, column: 3 },
          { sql: "SELECT 3", offset: 39, line: 5, column: 9 },
        ],
      );
      for (const statement of statements) {
        assert.equal(
          text.slice(statement.offset, statement.offset + statement.sql.length),
          statement.sql,
        );
      }
    },
  );

  await t.step("drops a comment between the last token and the semicolon", async () => {
    assert.deepEqual(await sqlOf("SELECT 1 -- why\n /* more */ ;"), [
      "SELECT 1",
    ]);
  });

  await t.step("skips empty statements", async () => {
    assert.deepEqual(await sqlOf("SELECT 1;;; ;SELECT 2;"), [
      "SELECT 1",
      "SELECT 2",
    ]);
  });

  await t.step("does not split inside dollar quotes", async () => {
    const body = "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$\n" +
      "BEGIN\n  PERFORM 1; RETURN 2;\nEND\n$$";
    const tagged = "SELECT $tag$ a; $$ b; $tag$";
    assert.deepEqual(await sqlOf(`${body};\n${tagged};\nDO $x$ BEGIN END $x$`), [
      body,
      tagged,
      "DO $x$ BEGIN END $x$",
    ]);
  });

  await t.step("does not split inside a BEGIN ATOMIC function body", async () => {
    const fn = "CREATE FUNCTION f() RETURNS int LANGUAGE sql\nBEGIN ATOMIC\n  SELECT 1;\n  SELECT 2;\nEND";
    assert.deepEqual(await sqlOf(`${fn};\nSELECT 3;`), [fn, "SELECT 3"]);
  });

  await t.step("does not split inside nested comments", async () => {
    assert.deepEqual(
      await sqlOf("SELECT 1 /* a; /* b; */ still; */ + 1; SELECT 2"),
      ["SELECT 1 /* a; /* b; */ still; */ + 1", "SELECT 2"],
    );
  });

  await t.step("does not split inside E'' strings", async () => {
    assert.deepEqual(
      await sqlOf("SELECT E'it\\'s; fine'; SELECT 'a''; b'"),
      ["SELECT E'it\\'s; fine'", "SELECT 'a''; b'"],
    );
  });

  await t.step("does not split inside quoted identifiers", async () => {
    assert.deepEqual(
      await sqlOf('CREATE TABLE "a;b" ("c"";d" int); SELECT 1'),
      ['CREATE TABLE "a;b" ("c"";d" int)', "SELECT 1"],
    );
  });

  await t.step("reports the parse-node kind", async () => {
    const statements = await splitSql(
      "CREATE TABLE t (id int); CREATE INDEX i ON t (id); DO $$ BEGIN END $$; INSERT INTO t VALUES (1)",
    );
    assert.deepEqual(statements.map((s) => s.kind), [
      "CreateStmt",
      "IndexStmt",
      "DoStmt",
      "InsertStmt",
    ]);
  });

  await t.step(
    "regression: byte offsets from libpg-query are not used as string indexes",
    async () => {
      // é is 2 UTF-8 bytes and 1 UTF-16 unit, 😀 is 4 bytes and 2 units.
      const text = "SELECT 'é😀';\n-- ça 😀\n  SELECT 'x'; SELECT 2";
      const statements = await splitSql(text);
      assert.deepEqual(statements.map((s) => s.sql), [
        "SELECT 'é😀'",
        "SELECT 'x'",
        "SELECT 2",
      ]);
      assert.deepEqual(
        statements.map(({ offset, line, column }) => ({ offset, line, column })),
        [
          { offset: 0, line: 1, column: 1 },
          { offset: 25, line: 3, column: 3 },
          { offset: 37, line: 3, column: 15 },
        ],
      );
      assert.equal(text.slice(25, 35), "SELECT 'x'");
    },
  );

  await t.step("counts columns in code points after an emoji", async () => {
    const [, second] = await splitSql("SELECT '😀😀'; SELECT 2");
    assert.equal(second.offset, 15);
    assert.equal(second.column, 14);
  });

  await t.step("adds lineOffset to reported lines", async () => {
    const [statement] = await splitSql("\n\n  SELECT 1", { lineOffset: 10 });
    assert.equal(statement.line, 13);
    assert.equal(statement.column, 3);
    assert.equal(statement.offset, 4);
  });
});

Deno.test("splitSql() syntax errors", async (t) => {
  await t.step("throws SqlSyntaxError with line, column and message", async () => {
    const error = await syntaxError("SELECT 1;\n\n  SELEC 2;", {
      file: "db/001.sql",
    });
    assert.equal(error.line, 3);
    assert.equal(error.column, 3);
    assert.equal(error.offset, 13);
    assert.equal(error.reason, 'syntax error at or near "SELEC"');
    assert.equal(error.file, "db/001.sql");
    assert.equal(
      error.message,
      'db/001.sql:3:3: syntax error at or near "SELEC"',
    );
  });

  await t.step(
    "regression: the error cursor counts characters, not UTF-8 bytes",
    async () => {
      const text = "SELECT 'é😀é';\nSELECT '😀', FROM t;";
      const error = await syntaxError(text);
      assert.equal(error.reason, 'syntax error at or near "FROM"');
      assert.equal(error.line, 2);
      assert.equal(error.column, 13);
      assert.equal(text.slice(error.offset, error.offset + 4), "FROM");
    },
  );

  await t.step("reports the end of input", async () => {
    const error = await syntaxError("SELECT 1 FROM");
    assert.equal(error.reason, "syntax error at end of input");
    assert.equal(error.column, 14);
  });

  await t.step("reports lexer errors at the opening quote", async () => {
    const dollar = await syntaxError("SELECT 1;\nSELECT $$ never closed;");
    assert.match(dollar.reason, /unterminated dollar-quoted string/);
    assert.deepEqual([dollar.line, dollar.column], [2, 8]);

    const comment = await syntaxError("SELECT 1; /* /* */");
    assert.match(comment.reason, /unterminated \/\* comment/);
    assert.deepEqual([comment.line, comment.column], [1, 11]);
  });

  await t.step("adds lineOffset to the error line", async () => {
    const error = await syntaxError("\nSELEC", { lineOffset: 4 });
    assert.equal(error.line, 6);
    assert.equal(error.message, '<sql>:6:1: syntax error at or near "SELEC"');
  });

  await t.step(
    "regression: a NUL character is rejected instead of truncating the text",
    async () => {
      const error = await syntaxError("SELECT 1;\nSELECT\0 2; DROP TABLE t");
      assert.deepEqual([error.line, error.column], [2, 7]);
      assert.match(error.reason, /null character/);
    },
  );
});

Deno.test("splitSql() nonTransactional", async (t) => {
  const refused: Array<[string, string]> = [
    ["CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY"],
    [
      "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)",
      "CREATE INDEX CONCURRENTLY",
    ],
    ["DROP INDEX CONCURRENTLY IF EXISTS s.i", "DROP INDEX CONCURRENTLY"],
    ["REINDEX TABLE CONCURRENTLY t", "REINDEX CONCURRENTLY"],
    ["REINDEX (CONCURRENTLY) INDEX i", "REINDEX CONCURRENTLY"],
    ["REINDEX (VERBOSE, CONCURRENTLY true) TABLE t", "REINDEX CONCURRENTLY"],
    ["REINDEX SCHEMA s", "REINDEX SCHEMA"],
    ["REINDEX SYSTEM", "REINDEX SYSTEM"],
    ["REINDEX DATABASE", "REINDEX DATABASE"],
    [
      "ALTER TABLE p DETACH PARTITION c CONCURRENTLY",
      "ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY",
    ],
    ["VACUUM", "VACUUM"],
    ["VACUUM (FULL, ANALYZE) t", "VACUUM"],
    ["vacuum analyze t", "VACUUM"],
    ["CLUSTER", "CLUSTER"],
    ["CLUSTER VERBOSE", "CLUSTER"],
    ["CREATE DATABASE d", "CREATE DATABASE"],
    ["DROP DATABASE IF EXISTS d", "DROP DATABASE"],
    [
      "ALTER DATABASE d SET TABLESPACE ts",
      "ALTER DATABASE ... SET TABLESPACE",
    ],
    ["CREATE TABLESPACE ts LOCATION '/data'", "CREATE TABLESPACE"],
    ["DROP TABLESPACE ts", "DROP TABLESPACE"],
    ["ALTER SYSTEM SET work_mem = '8MB'", "ALTER SYSTEM"],
    ["ALTER SYSTEM RESET ALL", "ALTER SYSTEM"],
    ["DISCARD ALL", "DISCARD ALL"],
    [
      "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p",
      "CREATE SUBSCRIPTION ... WITH (create_slot = true)",
    ],
    [
      "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (copy_data = false)",
      "CREATE SUBSCRIPTION ... WITH (create_slot = true)",
    ],
    [
      "ALTER SUBSCRIPTION s REFRESH PUBLICATION",
      "ALTER SUBSCRIPTION ... REFRESH PUBLICATION",
    ],
    [
      "ALTER SUBSCRIPTION s REFRESH PUBLICATION WITH (copy_data = false)",
      "ALTER SUBSCRIPTION ... REFRESH PUBLICATION",
    ],
    [
      "ALTER SUBSCRIPTION s SET PUBLICATION p",
      "ALTER SUBSCRIPTION ... PUBLICATION with refresh",
    ],
    [
      "ALTER SUBSCRIPTION s ADD PUBLICATION p WITH (refresh = true)",
      "ALTER SUBSCRIPTION ... PUBLICATION with refresh",
    ],
    [
      "ALTER SUBSCRIPTION s SET (failover = true)",
      "ALTER SUBSCRIPTION ... SET (failover)",
    ],
    [
      "ALTER SUBSCRIPTION s SET (two_phase = on)",
      "ALTER SUBSCRIPTION ... SET (two_phase)",
    ],
    ["DROP SUBSCRIPTION IF EXISTS s", "DROP SUBSCRIPTION"],
    ["BEGIN", "BEGIN (transaction control)"],
    ["START TRANSACTION ISOLATION LEVEL SERIALIZABLE", "START TRANSACTION (transaction control)"],
    ["COMMIT", "COMMIT (transaction control)"],
    ["END", "COMMIT (transaction control)"],
    ["ROLLBACK", "ROLLBACK (transaction control)"],
    ["ABORT", "ROLLBACK (transaction control)"],
    ["SAVEPOINT a", "SAVEPOINT (transaction control)"],
    ["RELEASE SAVEPOINT a", "RELEASE SAVEPOINT (transaction control)"],
    ["ROLLBACK TO SAVEPOINT a", "ROLLBACK TO SAVEPOINT (transaction control)"],
    ["PREPARE TRANSACTION 'g'", "PREPARE TRANSACTION (transaction control)"],
    ["COMMIT PREPARED 'g'", "COMMIT PREPARED (transaction control)"],
    ["ROLLBACK PREPARED 'g'", "ROLLBACK PREPARED (transaction control)"],
  ];
  for (const [sql, label] of refused) {
    await t.step(`flags ${sql}`, async () => {
      const [statement] = await splitSql(sql);
      assert.equal(statement.nonTransactional, label);
    });
  }

  const allowed = [
    "CREATE INDEX i ON t (a)",
    "CREATE UNIQUE INDEX i ON s.t (a)",
    "DROP INDEX i",
    "DROP TABLE t",
    "REINDEX TABLE t",
    "REINDEX (CONCURRENTLY false) TABLE t",
    "REINDEX (concurrently off) INDEX i",
    "ALTER TABLE p DETACH PARTITION c",
    "ALTER TABLE p DETACH PARTITION c FINALIZE",
    "ALTER TABLE t ADD COLUMN b int",
    "ANALYZE",
    "ANALYZE VERBOSE t",
    "CLUSTER t",
    "CLUSTER t USING i",
    "ALTER TYPE mood ADD VALUE 'meh'",
    "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'meh' BEFORE 'ok'",
    "ALTER DATABASE d SET work_mem = '8MB'",
    "ALTER DATABASE d CONNECTION LIMIT 5",
    "DISCARD PLANS",
    "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
    "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (connect = false)",
    "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (create_slot = false)",
    "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (create_slot = off)",
    "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (create_slot = 0)",
    "ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false)",
    "ALTER SUBSCRIPTION s DROP PUBLICATION p WITH (refresh = off)",
    "ALTER SUBSCRIPTION s ENABLE",
    "ALTER SUBSCRIPTION s SET (synchronous_commit = off)",
    "SET lock_timeout = '5s'",
    "LOCK TABLE t IN ACCESS EXCLUSIVE MODE",
    "DO $$ BEGIN PERFORM 1; END $$",
    "SELECT 'VACUUM; CREATE INDEX CONCURRENTLY i ON t (a)'",
  ];
  for (const sql of allowed) {
    await t.step(`does not flag ${sql}`, async () => {
      const [statement] = await splitSql(sql);
      assert.equal(statement.nonTransactional, null);
    });
  }
});

Deno.test("splitSql() concurrentIndex", async (t) => {
  await t.step("names a schema-qualified index and its table", async () => {
    const [statement] = await splitSql(
      "CREATE INDEX CONCURRENTLY users_email_idx ON app.users (email)",
    );
    assert.deepEqual(statement.concurrentIndex, {
      schema: "app",
      name: "users_email_idx",
      table: "users",
      tableSchema: "app",
    });
  });

  await t.step("leaves the schema null when unqualified", async () => {
    const [statement] = await splitSql(
      "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)",
    );
    assert.deepEqual(statement.concurrentIndex, {
      schema: null,
      name: "i",
      table: "t",
      tableSchema: null,
    });
  });

  await t.step("folds case like PostgreSQL, keeping quoted names", async () => {
    const [statement] = await splitSql(
      'CREATE INDEX CONCURRENTLY "My Idx" ON "Sales".Orders (id)',
    );
    assert.deepEqual(statement.concurrentIndex, {
      schema: "Sales",
      name: "My Idx",
      table: "orders",
      tableSchema: "Sales",
    });
  });

  await t.step("is null without CONCURRENTLY or without a name", async () => {
    const statements = await splitSql(
      "CREATE INDEX i ON t (a); CREATE INDEX CONCURRENTLY ON t (a); SELECT 1",
    );
    assert.deepEqual(statements.map((s) => s.concurrentIndex), [
      null,
      null,
      null,
    ]);
    assert.equal(statements[1].nonTransactional, "CREATE INDEX CONCURRENTLY");
  });
});

Deno.test("lineColumnAt()", async (t) => {
  await t.step("is 1-based", () => {
    assert.deepEqual(lineColumnAt("ab\ncd", 0), { line: 1, column: 1 });
    assert.deepEqual(lineColumnAt("ab\ncd", 2), { line: 1, column: 3 });
    assert.deepEqual(lineColumnAt("ab\ncd", 3), { line: 2, column: 1 });
    assert.deepEqual(lineColumnAt("ab\ncd", 5), { line: 2, column: 3 });
  });

  await t.step("treats CRLF as one line break", () => {
    assert.deepEqual(lineColumnAt("a\r\nb\r\nc", 6), { line: 3, column: 1 });
  });

  await t.step("counts an emoji as one column", () => {
    assert.deepEqual(lineColumnAt("x\n😀é😀z", 7), { line: 2, column: 4 });
  });
});

Deno.test("scanSql()", async (t) => {
  await t.step("returns string indexes and flags comments", async () => {
    const text = "SELECT 'é😀' /* c */ -- d\n;";
    const tokens = await scanSql(text);
    assert.deepEqual(
      tokens.map(({ start, end, text, comment }) => ({
        start,
        end,
        text,
        comment,
      })),
      [
        { start: 0, end: 6, text: "SELECT", comment: false },
        { start: 7, end: 12, text: "'é😀'", comment: false },
        { start: 13, end: 20, text: "/* c */", comment: true },
        { start: 21, end: 25, text: "-- d", comment: true },
        { start: 26, end: 27, text: ";", comment: false },
      ],
    );
  });

  await t.step("returns no tokens for empty input", async () => {
    assert.deepEqual(await scanSql(""), []);
  });

  await t.step(
    "regression: a lexer error carries the parser's message and position",
    async () => {
      const error = await scanSql("SELECT 1;\n  SELECT 'open", {
        file: "x.sql",
      }).then(() => assert.fail("expected an error"), (e: unknown) => e);
      assert.ok(error instanceof SqlSyntaxError);
      assert.equal(
        error.message,
        `x.sql:2:10: unterminated quoted string at or near "'open"`,
      );
    },
  );
});
