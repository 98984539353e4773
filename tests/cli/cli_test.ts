import { freePort } from "../support/net.ts";
import assert from "node:assert/strict";
import { runStrata } from "../support/cli.ts";
import { withTestDatabase } from "../support/db.ts";
import { tempProject } from "../support/project.ts";

Deno.test("cli: an unknown flag prints usage and exits 2", async () => {
  const run = await runStrata(["migrate", "--frobnicate"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /error: Unknown option '--frobnicate'/);
  assert.match(run.stderr, /usage: deno task migrate/);
});

Deno.test("cli: an unknown command exits 2", async () => {
  const run = await runStrata(["migrat"]);
  assert.equal(run.code, 2);
  assert.match(run.stderr, /unknown command "migrat"/);
});

Deno.test("cli: a YAML error names the key path and exits 2", async () => {
  await using project = await tempProject({
    "strata.yaml": "migrations:\n  lock_timeout: soon\n  lock_retries: 0\n",
  });
  const run = await runStrata(["migrate", "status"], { cwd: project.root });
  assert.equal(run.code, 2);
  assert.match(run.stderr, /migrations\.lock_timeout: invalid duration "soon"/);
  assert.match(run.stderr, /migrations\.lock_retries: .*>=1/);
  assert.doesNotMatch(run.stderr, /usage:/, "a configuration error is not a usage error");
});

Deno.test("cli: an unreachable database names host, port and reason and exits 7", async () => {
  const port = await freePort();
  const started = performance.now();
  const run = await runStrata(["migrate", "--database-url", `postgres://u:secret@127.0.0.1:${port}/db`, "--wait", "1"]);
  const elapsed = performance.now() - started;
  assert.equal(run.code, 7, run.stderr);
  assert.match(
    run.stderr,
    new RegExp(`cannot connect to postgres://u:\\*\\*\\*@127\\.0\\.0\\.1:${port}/db: .*ECONNREFUSED`),
  );
  assert.doesNotMatch(run.stderr, /secret/, "passwords are never printed");
  assert.ok(elapsed > 1000, "--wait 1 keeps retrying for a second");
});

Deno.test("cli: new scaffolds a sortable migration that migrate accepts", async () => {
  await using project = await tempProject({});
  const first = await runStrata(["migrate", "new", "Add Leads Status"], { cwd: project.root });
  assert.equal(first.code, 0, first.stderr);
  assert.match(first.stdout.trim(), /migrations\/\d{14}_add_leads_status\.sql$/);
  const second = await runStrata(["migrate", "new", "index leads", "--no-transaction"], { cwd: project.root });
  const a = first.stdout.trim().split("/").at(-1)!;
  const b = second.stdout.trim().split("/").at(-1)!;
  assert.ok(a < b, `${a} must sort before ${b}`);
  assert.match(await Deno.readTextFile(second.stdout.trim()), /^-- strata:no-transaction/);
  await withTestDatabase(async (db) => {
    const run = await runStrata(["migrate", "--database-url", db.url], { cwd: project.root });
    assert.equal(run.code, 0, run.stderr);
  });
});
