import { freePort } from "../support/net.ts";
import assert from "node:assert/strict";
import postgres from "postgres";
import { runStrata } from "../support/cli.ts";
import { tempProject } from "../support/project.ts";

Deno.test("embedded: migrate with no URL starts PostgreSQL 18, keeps it running, and db stop stops it", async (t) => {
  const port = await freePort();
  await using project = await tempProject({
    "strata.yaml": `embedded:\n  port: ${port}\n  database: app\n`,
    "migrations/20260101000000_t.sql": "-- strata:up\ncreate table t (id int);\n",
  });
  try {
    await t.step("first migrate initialises, starts, applies and prints the URL", async () => {
      const run = await runStrata(["migrate"], { cwd: project.root });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /initialising embedded PostgreSQL/);
      assert.match(run.stdout, /applied 20260101000000 t/);
      assert.match(run.stdout, new RegExp(`database: postgres://postgres:strata@127\\.0\\.0\\.1:${port}/app`));
    });
    await t.step("the server outlives the command, with pg_stat_statements preloaded", async () => {
      const sql = postgres(`postgres://postgres:strata@127.0.0.1:${port}/app`, { max: 1, onnotice: () => {} });
      const [row] = await sql`select current_setting('server_version_num')::int / 10000 as major,
                                     current_setting('shared_preload_libraries') as preload,
                                     to_regclass('t') as t`;
      await sql.end();
      assert.deepEqual({ ...row }, { major: 18, preload: "pg_stat_statements", t: "t" });
    });
    await t.step("a second migrate is a no-op", async () => {
      const run = await runStrata(["migrate"], { cwd: project.root });
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /up to date/);
      assert.doesNotMatch(run.stdout, /started embedded/);
    });
    await t.step("db status and db url", async () => {
      const status = await runStrata(["db", "status", "--json"], { cwd: project.root });
      assert.equal(status.code, 0, status.stderr);
      const s = JSON.parse(status.stdout);
      assert.equal(s.running, true);
      assert.equal(s.port, port);
      const url = await runStrata(["db", "url"], { cwd: project.root });
      assert.equal(url.stdout.trim(), `postgres://postgres:strata@127.0.0.1:${port}/app`);
    });
  } finally {
    const stop = await runStrata(["db", "stop"], { cwd: project.root });
    assert.equal(stop.code, 0, stop.stderr);
  }
  const status = JSON.parse((await runStrata(["db", "status", "--json"], { cwd: project.root })).stdout);
  assert.equal(status.running, false);
});
