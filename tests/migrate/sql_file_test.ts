import assert from "node:assert/strict";
import { firstNonTransactional, locateInFile, parseSqlFile, SqlFileError } from "../../src/migrate/sql_file.ts";
import type { ParsedSqlFile, SqlSection } from "../../src/migrate/sql_file.ts";
import { parseDuration } from "../../src/config/duration.ts";

const testdata = new URL("../testdata/sql/", import.meta.url);

async function fileError(
  text: string,
  options?: { sections?: boolean },
): Promise<SqlFileError> {
  const error = await parseSqlFile("m.sql", text, options).then(
    () => assert.fail("expected a SqlFileError"),
    (error: unknown) => error,
  );
  assert.ok(error instanceof SqlFileError, String(error));
  return error;
}

/** Every statement's `sql` must be the file text at its `offset`. */
function assertOffsetsInFile(text: string, parsed: ParsedSqlFile): void {
  const sections = [parsed.up, parsed.down].filter((s) => s !== null);
  for (const section of sections) {
    assert.equal(
      text.slice(section.offset, section.offset + section.text.length),
      section.text,
    );
    for (const statement of section.statements) {
      assert.equal(
        text.slice(statement.offset, statement.offset + statement.sql.length),
        statement.sql,
      );
    }
  }
}

function sqlOf(section: SqlSection | null): string[] | null {
  return section === null ? null : section.statements.map((s) => s.sql);
}

Deno.test("parseSqlFile() sections", async (t) => {
  await t.step("splits up and down sections with file lines", async () => {
    const text = [
      "-- strata:up", // 1
      "CREATE TABLE t (id int);", // 2
      "", // 3
      "  INSERT INTO t VALUES (1);", // 4
      "-- strata:down", // 5
      "DROP TABLE t;", // 6
    ].join("\n");
    const parsed = await parseSqlFile("m.sql", text);
    assert.deepEqual(parsed.directives, {
      transaction: true,
      lockTimeout: null,
      statementTimeout: null,
    });
    assert.equal(parsed.up.line, 2);
    assert.equal(
      parsed.up.text,
      "CREATE TABLE t (id int);\n\n  INSERT INTO t VALUES (1);\n",
    );
    assert.deepEqual(
      parsed.up.statements.map(({ sql, line, column }) => ({
        sql,
        line,
        column,
      })),
      [
        { sql: "CREATE TABLE t (id int)", line: 2, column: 1 },
        { sql: "INSERT INTO t VALUES (1)", line: 4, column: 3 },
      ],
    );
    assert.equal(parsed.down?.line, 6);
    assert.equal(parsed.down?.text, "DROP TABLE t;");
    assert.deepEqual(sqlOf(parsed.down), ["DROP TABLE t"]);
    assert.equal(parsed.down?.statements[0].line, 6);
    assertOffsetsInFile(text, parsed);
  });

  await t.step("reads a file with only an up section", async () => {
    const parsed = await parseSqlFile("m.sql", "-- strata:up\nSELECT 1;\n");
    assert.deepEqual(sqlOf(parsed.up), ["SELECT 1"]);
    assert.equal(parsed.down, null);
  });

  await t.step("allows an empty down section", async () => {
    const parsed = await parseSqlFile(
      "m.sql",
      "-- strata:up\nSELECT 1;\n-- strata:down\n-- irreversible\n",
    );
    assert.deepEqual(sqlOf(parsed.down), []);
    assert.equal(parsed.down?.line, 4);
  });

  await t.step("treats a file without markers as up-only", async () => {
    const text = "-- just a comment\nCREATE TABLE t (id int);\nDROP TABLE u";
    const parsed = await parseSqlFile("m.sql", text);
    assert.equal(parsed.down, null);
    assert.equal(parsed.up.line, 1);
    assert.equal(parsed.up.text, text);
    assert.deepEqual(sqlOf(parsed.up), [
      "CREATE TABLE t (id int)",
      "DROP TABLE u",
    ]);
    assert.deepEqual(
      parsed.up.statements.map((s) => s.line),
      [2, 3],
    );
  });

  await t.step("treats an empty file as an empty up section", async () => {
    const parsed = await parseSqlFile("m.sql", "");
    assert.deepEqual(sqlOf(parsed.up), []);
    assert.equal(parsed.down, null);
  });

  await t.step(
    "regression: a marker inside a dollar-quoted body is not a section boundary",
    async () => {
      const text = await Deno.readTextFile(new URL("create_users.sql", testdata));
      const parsed = await parseSqlFile("create_users.sql", text);
      assert.deepEqual(parsed.directives, {
        transaction: false,
        lockTimeout: "5s",
        statementTimeout: null,
      });
      assert.equal(parsed.up.line, 6);
      assert.deepEqual(parsed.up.statements.map((s) => [s.kind, s.line]), [
        ["CreateStmt", 6],
        ["CreateFunctionStmt", 11],
        ["IndexStmt", 19],
      ]);
      assert.match(parsed.up.statements[1].sql, /-- strata:down\n/);
      assert.equal(parsed.down?.line, 22);
      assert.deepEqual(parsed.down?.statements.map((s) => s.kind), [
        "DropStmt",
        "DropStmt",
        "DropStmt",
      ]);
      assert.equal(
        parsed.down?.statements[0].nonTransactional,
        "DROP INDEX CONCURRENTLY",
      );
      assert.deepEqual(parsed.up.statements[2].concurrentIndex, {
        schema: "app",
        name: "users_email_idx",
        table: "users",
        tableSchema: "app",
      });
      assertOffsetsInFile(text, parsed);
    },
  );

  await t.step("ignores markers inside block comments and strings", async () => {
    const parsed = await parseSqlFile(
      "m.sql",
      "/*\n-- strata:down\n*/\nSELECT '\n-- strata:down\n';\n",
    );
    assert.equal(parsed.down, null);
    assert.equal(parsed.up.statements.length, 1);
  });

  await t.step("handles CRLF line endings", async () => {
    const text = "-- strata:lock-timeout 2s\r\n-- strata:up\r\nSELECT 1;\r\n-- strata:down\r\nSELECT 2;\r\n";
    const parsed = await parseSqlFile("m.sql", text);
    assert.equal(parsed.directives.lockTimeout, "2s");
    assert.deepEqual(sqlOf(parsed.up), ["SELECT 1"]);
    assert.deepEqual(sqlOf(parsed.down), ["SELECT 2"]);
    assert.equal(parsed.down?.statements[0].line, 5);
  });

  await t.step(
    "regression: a leading byte-order mark is not a syntax error",
    async () => {
      const parsed = await parseSqlFile("m.sql", "\uFEFFSELECT 1;\nSELECT 2;");
      assert.deepEqual(sqlOf(parsed.up), ["SELECT 1", "SELECT 2"]);
      assert.equal(parsed.up.statements[0].offset, 1);
      assert.equal(parsed.up.statements[1].line, 2);
    },
  );
});

Deno.test("parseSqlFile() repeatable mode", async (t) => {
  await t.step("takes the whole file as the body", async () => {
    const text = await Deno.readTextFile(
      new URL("repeatable_view.sql", testdata),
    );
    const parsed = await parseSqlFile("repeatable_view.sql", text, {
      sections: false,
    });
    assert.equal(parsed.directives.statementTimeout, "1min");
    assert.equal(parsed.down, null);
    assert.deepEqual(parsed.up.statements.map((s) => [s.kind, s.line]), [
      ["ViewStmt", 3],
    ]);
  });

  await t.step("rejects an up marker", async () => {
    const error = await fileError("SELECT 1;\n-- strata:up\n", {
      sections: false,
    });
    assert.equal(error.line, 2);
    assert.match(error.reason, /not allowed in a repeatable file/);
  });

  await t.step("rejects a down marker", async () => {
    const error = await fileError("-- strata:down\n", { sections: false });
    assert.equal(error.line, 1);
    assert.match(error.reason, /"-- strata:down" is not allowed/);
  });
});

Deno.test("parseSqlFile() directives", async (t) => {
  await t.step("reads all header directives", async () => {
    const parsed = await parseSqlFile(
      "m.sql",
      "-- strata:no-transaction\n-- strata:lock-timeout 10s\n-- strata:statement-timeout 5min\n\n-- strata:up\nVACUUM;\n",
    );
    assert.deepEqual(parsed.directives, {
      transaction: false,
      lockTimeout: "10s",
      statementTimeout: "5min",
    });
  });

  await t.step(
    "accepts any case, no space after -- and indentation",
    async () => {
      const parsed = await parseSqlFile(
        "m.sql",
        "--strata:NO-TRANSACTION\n  --   Strata:Lock-Timeout   1500ms  \n-- STRATA:UP\nSELECT 1;",
      );
      assert.equal(parsed.directives.transaction, false);
      assert.equal(parsed.directives.lockTimeout, "1500ms");
      assert.deepEqual(sqlOf(parsed.up), ["SELECT 1"]);
    },
  );

  await t.step(
    "allows header directives before the first statement of an up-only file",
    async () => {
      const parsed = await parseSqlFile(
        "m.sql",
        "-- note\n/* more */\n-- strata:statement-timeout 0\nSELECT 1;",
      );
      assert.equal(parsed.directives.statementTimeout, "0");
      assert.equal(parsed.down, null);
    },
  );

  const errors: Array<[string, string, number, number, RegExp]> = [
    [
      "unknown directive",
      "-- strata:up\nSELECT 1;\n-- strata:dwon\nSELECT 2;",
      3,
      1,
      /unknown directive "-- strata:dwon"/,
    ],
    [
      "malformed directive with a space after the colon",
      "-- strata:up\nSELECT 1;\n  -- strata: down\n",
      3,
      3,
      /malformed directive "-- strata: down"/,
    ],
    [
      "malformed directive without a colon",
      "-- strata down\n",
      1,
      1,
      /malformed directive/,
    ],
    [
      "directive sharing a line with SQL",
      "-- strata:up\nSELECT 1; -- strata:down\n",
      2,
      11,
      /on a line of its own/,
    ],
    [
      "duplicate header directive",
      "-- strata:lock-timeout 1s\n-- strata:lock-timeout 2s\n-- strata:up\n",
      2,
      1,
      /duplicate "-- strata:lock-timeout" \(first on line 1\)/,
    ],
    [
      "duplicate no-transaction",
      "-- strata:no-transaction\n\n-- strata:no-transaction\n",
      3,
      1,
      /duplicate "-- strata:no-transaction"/,
    ],
    [
      "duplicate up",
      "-- strata:up\nSELECT 1;\n-- strata:up\n",
      3,
      1,
      /duplicate "-- strata:up" \(first on line 1\)/,
    ],
    [
      "duplicate down",
      "-- strata:up\n-- strata:down\nSELECT 1;\n-- strata:down\n",
      4,
      1,
      /duplicate "-- strata:down" \(first on line 2\)/,
    ],
    [
      "down before up",
      "-- strata:down\nSELECT 1;\n-- strata:up\nSELECT 2;",
      1,
      1,
      /"-- strata:down" must come after "-- strata:up"/,
    ],
    [
      "down without up",
      "SELECT 1;\n-- strata:down\nSELECT 2;",
      2,
      1,
      /"-- strata:down" without "-- strata:up"/,
    ],
    [
      "header directive after up",
      "-- strata:up\n-- strata:statement-timeout 5s\nSELECT 1;",
      2,
      1,
      /"-- strata:statement-timeout" must come before "-- strata:up"/,
    ],
    [
      "header directive in the down section",
      "-- strata:up\nSELECT 1;\n-- strata:down\n-- strata:no-transaction\n",
      4,
      1,
      /"-- strata:no-transaction" must come before "-- strata:up"/,
    ],
    [
      "header directive after the first statement of an up-only file",
      "SELECT 1;\n-- strata:no-transaction\n",
      2,
      1,
      /must come before the first statement/,
    ],
    [
      "stray SQL before up",
      "-- strata:no-transaction\n\n  SET search_path = app;\n-- strata:up\nSELECT 1;",
      3,
      3,
      /unexpected SQL before "-- strata:up"/,
    ],
    [
      "timeout without a value",
      "-- strata:lock-timeout\n",
      1,
      1,
      /"-- strata:lock-timeout" needs a value/,
    ],
    [
      "no-transaction with a value",
      "-- strata:no-transaction yes\n",
      1,
      26,
      /takes no value \(got "yes"\)/,
    ],
    [
      "up with a value",
      "-- strata:up now\n",
      1,
      14,
      /"-- strata:up" takes no value/,
    ],
    [
      "invalid duration unit",
      "-- strata:lock-timeout 5sec\n",
      1,
      24,
      /invalid duration "5sec": unknown unit "sec"/,
    ],
    [
      "invalid duration number",
      "\n-- strata:statement-timeout five\n",
      2,
      29,
      /invalid duration "five"/,
    ],
  ];
  for (const [name, text, line, column, reason] of errors) {
    await t.step(`rejects ${name} at its line`, async () => {
      const error = await fileError(text);
      assert.match(error.reason, reason);
      assert.deepEqual([error.line, error.column], [line, column]);
      assert.equal(error.file, "m.sql");
      assert.equal(error.message, `m.sql:${line}:${column}: ${error.reason}`);
    });
  }
});

Deno.test("parseSqlFile() syntax errors", async (t) => {
  await t.step("reports a down-section error at its file position", async () => {
    const error = await fileError(
      "-- strata:up\nSELECT 1;\n-- strata:down\nDROP TABLE t;\n  DROPP TABLE u;\n",
    );
    assert.deepEqual([error.line, error.column], [5, 3]);
    assert.equal(
      error.message,
      'm.sql:5:3: syntax error at or near "DROPP"',
    );
  });

  await t.step(
    "regression: multi-byte text before the error keeps the column right",
    async () => {
      const error = await fileError(
        "-- Ünïcödé 😀\n-- strata:up\nSELECT 'é😀', FROM t;\n",
      );
      assert.deepEqual([error.line, error.column], [3, 14]);
    },
  );

  await t.step("reports an unterminated quote in the file", async () => {
    const error = await fileError("-- strata:up\nSELECT 1;\nSELECT $$ x;\n");
    assert.match(error.reason, /unterminated dollar-quoted string/);
    assert.deepEqual([error.line, error.column], [3, 8]);
  });
});

Deno.test("parseDuration()", async (t) => {
  const valid: Array<[string, number, string]> = [
    ["0", 0, "0"],
    ["0s", 0, "0"],
    ["500", 500, "500ms"],
    ["500ms", 500, "500ms"],
    ["5s", 5000, "5s"],
    ["5 s", 5000, "5s"],
    ["90s", 90_000, "90s"],
    ["1.5min", 90_000, "90s"],
    ["2min", 120_000, "2min"],
    ["60min", 3_600_000, "1h"],
    ["1h", 3_600_000, "1h"],
    ["1d", 86_400_000, "1d"],
    ["2000us", 2, "2ms"],
    ["1.1s", 1100, "1100ms"],
    ["2147483647ms", 2_147_483_647, "2147483647ms"],
  ];
  for (const [value, milliseconds, text] of valid) {
    await t.step(`accepts ${value}`, () => {
      assert.deepEqual(parseDuration(value), { milliseconds, text });
    });
  }

  const invalid: Array<[string, RegExp]> = [
    ["", /expected a number/],
    ["-1s", /expected a number/],
    ["5sec", /unknown unit "sec"/],
    ["5S", /expected a number|unknown unit/],
    ["1e3", /expected a number/],
    ["'5s'", /expected a number/],
    ["500us", /whole number of milliseconds/],
    ["1.0005s", /whole number of milliseconds/],
    ["25d", /exceeds the maximum/],
  ];
  for (const [value, reason] of invalid) {
    await t.step(`rejects ${JSON.stringify(value)}`, () => {
      assert.throws(() => parseDuration(value), (error: unknown) => {
        assert.ok(error instanceof RangeError);
        assert.match(error.message, reason);
        return true;
      });
    });
  }
});

Deno.test("firstNonTransactional()", async (t) => {
  await t.step("returns the first refused statement", async () => {
    const parsed = await parseSqlFile(
      "m.sql",
      "-- strata:up\nCREATE TABLE t (a int);\nCREATE INDEX CONCURRENTLY i ON t (a);\nVACUUM t;\n-- strata:down\nDROP TABLE t;",
    );
    const statement = firstNonTransactional(parsed.up);
    assert.equal(statement?.nonTransactional, "CREATE INDEX CONCURRENTLY");
    assert.equal(statement?.line, 3);
    assert.equal(parsed.down && firstNonTransactional(parsed.down), null);
  });

  await t.step("flags transaction control", async () => {
    const parsed = await parseSqlFile("m.sql", "SELECT 1;\nCOMMIT;\n");
    assert.equal(
      firstNonTransactional(parsed.up)?.nonTransactional,
      "COMMIT (transaction control)",
    );
  });
});

Deno.test("locateInFile()", async (t) => {
  const text = [
    "-- strata:up", // 1
    "CREATE TABLE t (id int);", // 2
    "  INSERT INTO t", // 3
    "  VALUES ('é😀', nope);", // 4
  ].join("\n");
  const parsed = await parseSqlFile("m.sql", text);
  const [create, insert] = parsed.up.statements;

  await t.step("maps position 1 to the statement start", () => {
    assert.deepEqual(locateInFile(insert, 1), { line: 3, column: 3 });
  });

  await t.step("maps a position on the first line", () => {
    // "CREATE TABLE t": position 14 is the "t".
    assert.deepEqual(locateInFile(create, 14), { line: 2, column: 14 });
  });

  await t.step("maps a position on a later line, counting characters", () => {
    // PostgreSQL counts é and 😀 as one character each.
    const position = [...insert.sql].indexOf("n") + 1;
    assert.equal(insert.sql.slice(insert.sql.indexOf("nope")), "nope)");
    assert.deepEqual(locateInFile(insert, position), { line: 4, column: 17 });
  });

  await t.step("clamps positions outside the statement", () => {
    assert.deepEqual(locateInFile(insert, 0), { line: 3, column: 3 });
    assert.deepEqual(locateInFile(create, 1000), { line: 2, column: 24 });
  });
});
