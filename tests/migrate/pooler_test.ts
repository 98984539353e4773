import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { runStrata } from "../support/cli.ts";
import { withTestDatabase } from "../support/db.ts";
import { tempProject } from "../support/project.ts";
import { startPgBouncer } from "../support/pgbouncer.ts";

const PGBOUNCER = "/usr/sbin/pgbouncer";

Deno.test({
  name: "pooler: a transaction-pooled PgBouncer URL is refused for migrations",
  ignore: !existsSync(PGBOUNCER) &&
    (console.warn(`skipped: ${PGBOUNCER} is not installed (apt-get install pgbouncer)`), true),
  fn: async () => {
    await using project = await tempProject({
      "migrations/20260101000000_t.sql": "-- strata:up\ncreate table t (id int);\n",
    });
    await withTestDatabase(async (db) => {
      await using bouncer = await startPgBouncer(db.url, { poolMode: "transaction" });
      const run = await runStrata(["migrate", "--database-url", bouncer.url], { cwd: project.root });
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stderr, /is PgBouncer in transaction pooling mode/);
      assert.match(run.stderr, /MIGRATION_DATABASE_URL/);
      const [row] = await db.sql`select to_regclass('t') as t`;
      assert.equal(row.t, null);

      // The same database directly (MIGRATION_DATABASE_URL wins over DATABASE_URL) migrates.
      const direct = await runStrata(["migrate"], {
        cwd: project.root,
        env: { DATABASE_URL: bouncer.url, MIGRATION_DATABASE_URL: db.url },
      });
      assert.equal(direct.code, 0, direct.stderr);
    });
  },
});

Deno.test({
  name: "pooler: a session-pooled PgBouncer URL is accepted",
  ignore: !existsSync(PGBOUNCER),
  fn: async () => {
    await using project = await tempProject({
      "migrations/20260101000000_t.sql": "-- strata:up\ncreate table t (id int);\n",
    });
    await withTestDatabase(async (db) => {
      await using bouncer = await startPgBouncer(db.url, { poolMode: "session" });
      const run = await runStrata(["migrate", "--database-url", bouncer.url], { cwd: project.root });
      assert.equal(run.code, 0, run.stderr);
      const [row] = await db.sql`select to_regclass('t') as t`;
      assert.equal(row.t, "t");
    });
  },
});
