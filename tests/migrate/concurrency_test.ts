import assert from "node:assert/strict";
import postgres from "postgres";
import { advisoryKeys } from "../../src/db/advisory_lock.ts";
import { lockName } from "../../src/migrate/sql_builders.ts";
import { runStrata } from "../support/cli.ts";
import { withTestDatabase } from "../support/db.ts";
import { tempProject } from "../support/project.ts";

/** Each migration logs itself, so a double application would show as two rows. */
function logged(version: string, body: string): string {
  return `-- strata:up\n${body}\ninsert into applied_log (what) values ('${version}');\n`;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

Deno.test("concurrency: 8 runners at once apply each migration exactly once and all exit 0", async () => {
  const files: Record<string, string> = {
    "migrations/20260101000000_log.sql":
      "-- strata:up\ncreate table applied_log (id bigint generated always as identity, what text not null);\ninsert into applied_log (what) values ('20260101000000');\n",
    "migrations/20260101000300_index.sql":
      "-- strata:no-transaction\n-- strata:up\ncreate index concurrently if not exists items_n on items (n);\ninsert into applied_log (what) values ('20260101000300');\n",
    "functions/repeatable.sql": "insert into applied_log (what) values ('repeatable');\n",
  };
  for (let i = 1; i <= 2; i++) {
    files[`migrations/2026010100010${i}_step.sql`] = logged(
      `2026010100010${i}`,
      i === 1
        ? "create table items (id int, n int);\ninsert into items select g, g % 100 from generate_series(1, 50000) g;"
        : "alter table items add column extra text;",
    );
  }
  await using project = await tempProject(files);
  await withTestDatabase(async (db) => {
    const runs = await Promise.all(
      Array.from({ length: 8 }, () => runStrata(["migrate", "--database-url", db.url], { cwd: project.root })),
    );
    for (const run of runs) assert.equal(run.code, 0, run.stderr);
    const counts = await db.sql`select what, count(*)::int as n from applied_log group by what order by what`;
    assert.deepEqual(
      counts.map((c) => [c.what, c.n]),
      [["20260101000000", 1], ["20260101000101", 1], ["20260101000102", 1], ["20260101000300", 1], ["repeatable", 1]],
    );
    const applying = runs.filter((r) => /applied 20260101000000/.test(r.stdout));
    assert.equal(applying.length, 1, "exactly one runner applies");
    const [index] = await db.sql`select indisvalid from pg_index where indexrelid = 'items_n'::regclass`;
    assert.equal(index.indisvalid, true);
  });
});

Deno.test("concurrency: a runner waiting for the lock does not deadlock a concurrent index build", async () => {
  // Regression: with a blocking pg_advisory_lock, the waiting runner's open
  // statement is a transaction CREATE INDEX CONCURRENTLY must wait for, while
  // it waits for the builder's lock: PostgreSQL aborts the build (40P01).
  await using project = await tempProject({
    "migrations/20260101000000_big.sql":
      "-- strata:up\ncreate table big (id bigint primary key, payload text not null);\ninsert into big select g, md5(g::text) || md5((g * 7)::text) from generate_series(1, 1500000) g;\n",
  });
  await withTestDatabase(async (db) => {
    assert.equal((await runStrata(["migrate", "--database-url", db.url], { cwd: project.root })).code, 0);
    await project.write(
      "migrations/20260101000100_big_index.sql",
      "-- strata:no-transaction\n-- strata:lock-timeout 60s\n-- strata:up\ncreate index concurrently big_payload on big (payload);\n",
    );
    const builder = runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    await until("the concurrent index build to start", async () => {
      const rows = await db.sql`select 1 from pg_stat_activity
                                 where datname = current_database() and query ilike 'create index concurrently big_payload%'`;
      return rows.length > 0;
    });
    const waiter = runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    const [a, b] = await Promise.all([builder, waiter]);
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    assert.match(a.stdout, /applied 20260101000100 big_index/);
    assert.match(b.stdout, /waiting for the migration lock/);
    assert.match(b.stdout, /up to date/);
    const [index] = await db.sql`select indisvalid from pg_index where indexrelid = 'big_payload'::regclass`;
    assert.equal(index.indisvalid, true);
  });
});

Deno.test("concurrency: a lock timeout is retried with backoff and application queries never wait longer than it", async () => {
  const lockTimeoutMs = 300;
  await using project = await tempProject({
    "migrations/20260101000000_t.sql":
      "-- strata:up\ncreate table t (id int primary key);\ninsert into t select generate_series(1, 10);\n",
  });
  await withTestDatabase(async (db) => {
    assert.equal((await runStrata(["migrate", "--database-url", db.url], { cwd: project.root })).code, 0);
    await project.write(
      "migrations/20260101000100_alter.sql",
      `-- strata:lock-timeout ${lockTimeoutMs}ms\n-- strata:up\nalter table t add column note text;\n`,
    );
    // A long transaction holds a lock that conflicts with ALTER TABLE.
    const holder = postgres(db.url, { max: 1, onnotice: () => {} });
    const app = postgres(db.url, { max: 1, onnotice: () => {} });
    const reserved = await holder.reserve();
    await reserved`begin`;
    await reserved`select count(*) from t`;

    const migration = runStrata(["migrate", "--database-url", db.url], {
      cwd: project.root,
      env: { STRATA_MIGRATIONS_LOCK_RETRIES: "30", STRATA_MIGRATIONS_RETRY_BASE_DELAY: "50ms" },
    });
    await until("the migration to queue on the lock", async () => {
      const rows = await db.sql`select 1 from pg_stat_activity
                                 where datname = current_database() and wait_event_type = 'Lock'
                                   and query ilike 'alter table t add column note%'`;
      return rows.length > 0;
    });
    // Application reads while the migration keeps retrying: each may queue
    // behind the migration's pending ACCESS EXCLUSIVE request, but only until
    // its lock timeout fires.
    const waits: number[] = [];
    const readUntil = Date.now() + 3000;
    while (Date.now() < readUntil) {
      const started = performance.now();
      await app`select count(*) from t`;
      waits.push(performance.now() - started);
    }
    await reserved`commit`;
    reserved.release();
    const run = await migration;
    await holder.end();
    await app.end();

    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /retry: migrations\/20260101000100_alter\.sql attempt 1 hit SQLSTATE 55P03/);
    assert.match(run.stdout, /applied 20260101000100 alter \(.*attempts\)/);
    // Without the lock timeout a read would wait the full 3 s for the holder.
    // The slack covers scheduling on a loaded two-core CI machine.
    const longest = Math.max(...waits);
    assert.ok(
      longest < lockTimeoutMs + 400,
      `an application query waited ${longest.toFixed(0)} ms behind a migration with lock_timeout ${lockTimeoutMs} ms`,
    );
    assert.ok(
      longest >= 50,
      `no read ever queued behind the migration (longest ${longest.toFixed(0)} ms): the test saw nothing`,
    );
    const [col] = await db.sql`select count(*)::int as n from information_schema.columns
                                where table_name = 't' and column_name = 'note'`;
    assert.equal(col.n, 1);
  });
});

Deno.test("concurrency: a runner that cannot get the migration lock in time exits 6", async () => {
  await using project = await tempProject({
    "migrations/20260101000000_t.sql": "-- strata:up\ncreate table t (id int);\n",
  });
  await withTestDatabase(async (db) => {
    const [k1, k2] = advisoryKeys(lockName("strata"));
    const holder = postgres(db.url, { max: 1, onnotice: () => {} });
    const session = await holder.reserve();
    await session`select pg_advisory_lock(${k1}::int, ${k2}::int)`;
    try {
      const run = await runStrata(["migrate", "--database-url", db.url], {
        cwd: project.root,
        env: { STRATA_MIGRATIONS_LOCK_WAIT: "1s" },
      });
      assert.equal(run.code, 6, run.stderr);
      assert.match(
        run.stderr,
        /migration lock "strata:migrate:strata" not acquired within 1000 ms: held by backend pid \d+/,
      );
      const [row] = await db.sql`select to_regclass('t') as t`;
      assert.equal(row.t, null);
    } finally {
      session.release();
      await holder.end();
    }
  });
});
