import assert from "node:assert/strict";
import { runStrata } from "../support/cli.ts";
import { withTestDatabase } from "../support/db.ts";
import { tempProject } from "../support/project.ts";

Deno.test("invalid index: a failed concurrent build is listed by status and dropped before the retry", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_accounts.sql":
      "-- strata:up\ncreate table accounts (id int primary key, email text not null);\ninsert into accounts select g, 'user' || (g % 500) || '@example.com' from generate_series(1, 1000) g;\n",
    "migrations/20260101000100_unique_email.sql":
      "-- strata:no-transaction\n-- strata:up\ncreate unique index concurrently if not exists accounts_email on accounts (email);\n-- strata:down\ndrop index concurrently if exists accounts_email;\n",
  });
  await withTestDatabase(async (db) => {
    const failed = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(failed.code, 3, failed.stderr);
    assert.match(failed.stderr, /20260101000100_unique_email\.sql:3:1/);
    assert.match(failed.stderr, /SQLSTATE 23505/);
    assert.match(failed.stderr, /0 statement\(s\) before the failing one ran/);

    const status = await runStrata(["migrate", "status", "--json", "--database-url", db.url], { cwd: project.root });
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual(JSON.parse(status.stdout).invalid_indexes, [
      { schema: "public", name: "accounts_email", table: "accounts" },
    ]);
    const plan = await runStrata(["migrate", "plan", "--database-url", db.url], { cwd: project.root });
    assert.match(plan.stdout, /drop index concurrently if exists "public"\."accounts_email"; -- INVALID/);

    // Without the cleanup, "if not exists" would skip the build and keep the INVALID index.
    await db.sql`update accounts set email = 'user' || id || '@example.com'`;
    const fixed = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(fixed.code, 0, fixed.stderr);
    assert.match(fixed.stdout, /dropped INVALID index public\.accounts_email left by an earlier failed build/);
    assert.match(fixed.stdout, /applied 20260101000100 unique_email/);
    const [index] = await db
      .sql`select indisvalid, indisunique from pg_index where indexrelid = 'accounts_email'::regclass`;
    assert.deepEqual({ ...index }, { indisvalid: true, indisunique: true });
    const after = JSON.parse(
      (await runStrata(["migrate", "status", "--json", "--database-url", db.url], { cwd: project.root })).stdout,
    );
    assert.deepEqual(after.invalid_indexes, []);
  });
});

Deno.test("no-transaction: a failure reports which statements ran and stay applied", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_t.sql": "-- strata:up\ncreate table t (id int primary key, v int);\n",
    "migrations/20260101000100_steps.sql":
      "-- strata:no-transaction\n-- strata:up\ncreate index concurrently if not exists t_v on t (v);\n\ncreate table if not exists side (id int);\nselect 1 / 0;\n",
  });
  await withTestDatabase(async (db) => {
    const run = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /20260101000100_steps\.sql:6:1\n/);
    assert.match(
      run.stderr,
      /2 statement\(s\) before the failing one ran and stay applied \(migrations\/20260101000100_steps\.sql:3, migrations\/20260101000100_steps\.sql:5\)/,
    );
    const [row] = await db.sql`select to_regclass('t_v') is not null as idx, to_regclass('side') is not null as side,
                                      (select count(*)::int from strata.schema_history where version = '20260101000100') as recorded`;
    assert.deepEqual({ ...row }, { idx: true, side: true, recorded: 0 });
  });
});
