import assert from "node:assert/strict";
import { runStrata } from "../support/cli.ts";
import { withTestDatabase } from "../support/db.ts";
import { tempProject } from "../support/project.ts";

const CREATE_T = `-- strata:up
create table t (id bigint generated always as identity primary key, v text not null);
insert into t (v) select 'row ' || g from generate_series(1, 100) g;
-- strata:down
drop table t;
`;
const ADD_COL = `-- strata:up
alter table t add column flag boolean not null default false;
-- strata:down
alter table t drop column flag;
`;

Deno.test("migrate: fresh apply, then an idempotent re-run", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_create_t.sql": CREATE_T,
    "migrations/20260101000100_add_col.sql": ADD_COL,
  });
  await withTestDatabase(async (db) => {
    const first = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(first.code, 0, first.stderr);
    assert.match(first.stdout, /applied 20260101000000 create_t \(\d+ ms\)/);
    assert.match(first.stdout, /applied 20260101000100 add_col \(\d+ ms\)/);
    const [{ count }] = await db.sql`select count(*)::int as count from t where flag = false`;
    assert.equal(count, 100);
    const history = await db.sql`select version, name, kind, checksum, duration_ms, applied_by, runner
                                   from strata.schema_history order by version`;
    assert.deepEqual(history.map((h) => h.version), ["20260101000000", "20260101000100"]);
    for (const h of history) {
      assert.match(h.checksum, /^[0-9a-f]{64}$/);
      assert.equal(h.kind, "versioned");
      assert.ok(h.applied_by.length > 0 && h.runner.includes(":"));
    }

    const second = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, /up to date/);
    assert.doesNotMatch(second.stdout, /applied 2026/);
  });
});

Deno.test("migrate: a failing SQL migration reports file:line:column and rolls back to the last good one", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_create_t.sql": CREATE_T,
    "migrations/20260101000100_broken.sql": `-- strata:up
create table broken_a (id int);

insert into broken_a values (1);
insert into   missing_table values (1);
-- strata:down
drop table broken_a;
`,
    "migrations/20260101000200_after.sql": "-- strata:up\ncreate table after_broken (id int);\n",
  });
  await withTestDatabase(async (db) => {
    const run = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /migrations\/20260101000100_broken\.sql:5:15/);
    assert.match(run.stderr, /SQLSTATE 42P01/);
    assert.match(run.stderr, /statement: insert into missing_table values \(1\)/);
    assert.match(run.stderr, /rolled back; the database is at 20260101000000/);
    const [row] = await db.sql`select to_regclass('broken_a') as a, to_regclass('after_broken') as b,
                                      to_regclass('t') as t`;
    assert.equal(row.a, null);
    assert.equal(row.b, null);
    assert.equal(row.t, "t");
    const versions = await db.sql`select version from strata.schema_history where kind = 'versioned'`;
    assert.deepEqual(versions.map((v) => v.version), ["20260101000000"]);
  });
});

Deno.test("migrate: a syntax error is refused before anything runs, with file:line", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_create_t.sql": CREATE_T,
    "migrations/20260101000100_typo.sql": "-- strata:up\ncreate table ok_one (id int);\ncreat table typo (id int);\n",
  });
  await withTestDatabase(async (db) => {
    const run = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /20260101000100_typo\.sql:3:1/);
    const [row] = await db.sql`select to_regclass('t') as t, to_regclass('ok_one') as ok`;
    assert.equal(row.t, null, "nothing may run when a pending file does not parse");
    assert.equal(row.ok, null);
  });
});

Deno.test("migrate: CREATE INDEX CONCURRENTLY in a transactional migration is refused with the fix", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_create_t.sql": CREATE_T,
    "migrations/20260101000100_index.sql": "-- strata:up\n\ncreate index concurrently t_v on t (v);\n",
  });
  await withTestDatabase(async (db) => {
    const run = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(run.code, 3, run.stderr);
    assert.match(
      run.stderr,
      /20260101000100_index\.sql:3:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction/,
    );
    assert.match(run.stderr, /strata:no-transaction/);
    const [row] = await db.sql`select to_regclass('t') as t`;
    assert.equal(row.t, null);
  });
});

Deno.test("migrate: an edited applied migration stops the run with exit 4 naming the file", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_create_t.sql": CREATE_T,
    "migrations/20260101000100_add_col.sql": ADD_COL,
  });
  await withTestDatabase(async (db) => {
    assert.equal((await runStrata(["migrate", "--database-url", db.url], { cwd: project.root })).code, 0);
    await project.write("migrations/20260101000100_add_col.sql", ADD_COL.replace("false", "true"));
    await project.write("migrations/20260101000200_more.sql", "-- strata:up\ncreate table more (id int);\n");
    const run = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /migrations\/20260101000100_add_col\.sql: changed after it was applied/);
    const [row] = await db.sql`select to_regclass('more') as more`;
    assert.equal(row.more, null, "validation failure must stop before pending migrations");

    const status = await runStrata(["migrate", "status", "--json", "--database-url", db.url], { cwd: project.root });
    assert.equal(status.code, 4);
    const report = JSON.parse(status.stdout);
    assert.deepEqual(
      report.migrations.map((m: { version: string; status: string }) => [m.version, m.status]),
      [["20260101000000", "applied"], ["20260101000100", "modified"], ["20260101000200", "pending"]],
    );

    const refused = await runStrata(["migrate", "repair", "--database-url", db.url], { cwd: project.root });
    assert.equal(refused.code, 2, "repair needs --yes");
    assert.match(refused.stderr, /modified: migrations\/20260101000100_add_col\.sql/);
    const repaired = await runStrata(["migrate", "repair", "--yes", "--database-url", db.url], { cwd: project.root });
    assert.equal(repaired.code, 0, repaired.stderr);
    const again = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /applied 20260101000200 more/);
  });
});

Deno.test("migrate: an applied migration whose file is missing stops the run with exit 4", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_create_t.sql": CREATE_T,
    "migrations/20260101000100_add_col.sql": ADD_COL,
  });
  await withTestDatabase(async (db) => {
    assert.equal((await runStrata(["migrate", "--database-url", db.url], { cwd: project.root })).code, 0);
    await project.remove("migrations/20260101000100_add_col.sql");
    const run = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(run.code, 4, run.stderr);
    assert.match(run.stderr, /20260101000100_add_col: applied, but its file is missing/);
    const status = JSON.parse(
      (await runStrata(["migrate", "status", "--json", "--database-url", db.url], { cwd: project.root })).stdout,
    );
    assert.equal(status.migrations.find((m: { version: string }) => m.version === "20260101000100").status, "missing");
  });
});

Deno.test("migrate: plan prints the SQL and changes nothing", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_create_t.sql": CREATE_T,
    "migrations/20260101000100_add_col.sql": ADD_COL,
    "functions/answer.sql":
      "create or replace function answer() returns int language sql immutable as $$ select 42 $$;\n",
  });
  await withTestDatabase(async (db) => {
    const catalog = () =>
      db.sql`select count(*)::int as n from pg_class c join pg_namespace n on n.oid = c.relnamespace
              where n.nspname not in ('pg_catalog', 'information_schema', 'pg_toast')`;
    const before = await catalog();
    const plan = await runStrata(["migrate", "plan", "--database-url", db.url], { cwd: project.root });
    assert.equal(plan.code, 0, plan.stderr);
    assert.match(plan.stdout, /begin; set local lock_timeout = '5000ms'/);
    assert.match(
      plan.stdout,
      /create table t \(id bigint generated always as identity primary key, v text not null\);/,
    );
    assert.match(plan.stdout, /alter table t add column flag boolean not null default false;/);
    assert.match(plan.stdout, /-- functions\/answer\.sql/);
    assert.deepEqual(await catalog(), before, "plan must not create anything");
    const [s] = await db.sql`select to_regnamespace('strata') as s`;
    assert.equal(s.s, null, "plan must not even create the bookkeeping schema");
  });
});

Deno.test("migrate: down and up round trip", async (t) => {
  await using project = await tempProject({
    "migrations/20260101000000_create_t.sql": CREATE_T,
    "migrations/20260101000100_add_col.sql": ADD_COL,
    "migrations/20260101000200_other.sql":
      "-- strata:up\ncreate table other (id int);\n-- strata:down\ndrop table other;\n",
  });
  await withTestDatabase(async (db) => {
    const migrate = () => runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    const tables = async () =>
      (await db.sql`select to_regclass('t') is not null as t, to_regclass('other') is not null as other`)[0];
    assert.equal((await migrate()).code, 0);
    await t.step("down reverts the newest migration by default", async () => {
      const run = await runStrata(["migrate", "down", "--database-url", db.url], { cwd: project.root });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /reverted 20260101000200 other/);
      assert.deepEqual({ ...(await tables()) }, { t: true, other: false });
    });
    await t.step("down --to 0 reverts everything", async () => {
      const run = await runStrata(["migrate", "down", "--to", "0", "--database-url", db.url], { cwd: project.root });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /reverted 20260101000100 add_col[\s\S]*reverted 20260101000000 create_t/);
      assert.deepEqual({ ...(await tables()) }, { t: false, other: false });
      const [{ n }] = await db.sql`select count(*)::int as n from strata.schema_history`;
      assert.equal(n, 0);
    });
    await t.step("up again applies all three", async () => {
      const run = await migrate();
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual({ ...(await tables()) }, { t: true, other: true });
      const [{ n }] = await db.sql`select count(*)::int as n from t`;
      assert.equal(n, 100);
    });
    await t.step("--steps 2 reverts two", async () => {
      const run = await runStrata(["migrate", "down", "--steps", "2", "--json", "--database-url", db.url], {
        cwd: project.root,
      });
      assert.equal(run.code, 0, run.stderr);
      const { results } = JSON.parse(run.stdout);
      assert.deepEqual(results.map((r: { version: string }) => r.version), ["20260101000200", "20260101000100"]);
    });
  });
});

Deno.test("migrate: repeatables are applied after migrations and re-applied only when changed", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_create_t.sql": CREATE_T,
    "functions/count_t.sql":
      "create or replace function count_t() returns bigint language sql stable as $$ select count(*) from t $$;\n",
    "policies/grants.sql": "grant select on t to public;\n",
  });
  await withTestDatabase(async (db) => {
    const migrate = () => runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    const first = await migrate();
    assert.equal(first.code, 0, first.stderr);
    assert.match(
      first.stdout,
      /applied 20260101000000[\s\S]*applied functions\/count_t\.sql[\s\S]*applied policies\/grants\.sql/,
    );
    const [{ n }] = await db.sql`select count_t()::int as n`;
    assert.equal(n, 100);

    const unchanged = await migrate();
    assert.doesNotMatch(unchanged.stdout, /repeatable/);

    await project.write(
      "functions/count_t.sql",
      "create or replace function count_t() returns bigint language sql stable as $$ select count(*) + 1 from t $$;\n",
    );
    const changed = await migrate();
    assert.equal(changed.code, 0, changed.stderr);
    assert.match(changed.stdout, /applied functions\/count_t\.sql/);
    assert.doesNotMatch(changed.stdout, /policies\/grants\.sql/);
    const [{ m }] = await db.sql`select count_t()::int as m`;
    assert.equal(m, 101);
  });
});

Deno.test("migrate: TypeScript migrations run with Kysely inside the migration's transaction", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_create_t.sql": CREATE_T,
    "migrations/20260101000100_backfill.ts": `import { type Kysely, sql } from "kysely";
export async function up(db: Kysely<any>) {
  await db.schema.createTable("ts_made").addColumn("id", "integer").execute();
  await db.insertInto("ts_made").values({ id: 7 }).execute();
  await sql\`update t set v = upper(v)\`.execute(db);
}
export async function down(db: Kysely<any>) {
  await db.schema.dropTable("ts_made").execute();
}
`,
    "migrations/20260101000200_fails.ts": `import { type Kysely, sql } from "kysely";
export async function up(db: Kysely<any>) {
  await db.schema.createTable("never_kept").addColumn("id", "integer").execute();
  await sql\`select 1/0\`.execute(db);
}
`,
  });
  await withTestDatabase(async (db) => {
    const run = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(run.code, 3, run.stderr);
    assert.match(run.stderr, /20260101000200_fails\.ts/);
    assert.match(run.stderr, /SQLSTATE 22012/);
    const [row] = await db.sql`select (select id from ts_made) as id, to_regclass('never_kept') as never,
                                      (select v from t order by id limit 1) as v`;
    assert.deepEqual({ ...row }, { id: 7, never: null, v: "ROW 1" });
  });
});

Deno.test("regression: session settings and SET LOCAL ROLE in a migration do not leak or break bookkeeping", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_schema.sql": `-- strata:up
create schema other;
do $$ begin create role strata_test_owner nologin; exception when duplicate_object then null; end $$;
grant create, usage on schema other to strata_test_owner;
`,
    // Without a reset, this search_path would send the next migration's table into "other",
    // and the role switch would make the history insert fail with permission denied.
    "migrations/20260101000100_settings.sql":
      "-- strata:up\nset search_path = other;\nset local role strata_test_owner;\ncreate table owned_by_role (id int);\n",
    "migrations/20260101000200_next.sql": "-- strata:up\ncreate table in_public (id int);\n",
  });
  await withTestDatabase(async (db) => {
    const run = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(run.code, 0, run.stderr);
    const [row] = await db.sql`select to_regclass('public.in_public') is not null as next_in_public,
                                      (select tableowner from pg_tables where tablename = 'owned_by_role') as owner`;
    assert.deepEqual({ ...row }, { next_in_public: true, owner: "strata_test_owner" });
    const [{ n }] = await db.sql`select count(*)::int as n from strata.schema_history`;
    assert.equal(n, 3);
    await db.sql`drop table other.owned_by_role`;
  });
});
