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
