import assert from "node:assert/strict";
import { loadConfig } from "../../src/config/load.ts";
import { ConfigError } from "../../src/errors.ts";
import { tempProject } from "../support/project.ts";

Deno.test("config: defaults, YAML, then environment, then flags", async (t) => {
  await using project = await tempProject({
    "strata.yaml": "database_url: postgres://yaml@h/db\nmigrations:\n  lock_timeout: 2s\n  lock_retries: 3\n",
  });
  await t.step("defaults apply without a file", async () => {
    const config = await loadConfig({ cwd: "/nonexistent-dir-for-strata", env: {} });
    assert.equal(config.migrations.lock_timeout, 5000);
    assert.equal(config.file, null);
    assert.ok(Object.isFrozen(config.migrations));
  });
  await t.step("YAML overrides defaults", async () => {
    const config = await loadConfig({ cwd: project.root, env: {} });
    assert.equal(config.migrations.lock_timeout, 2000);
    assert.equal(config.migrations.lock_retries, 3);
    assert.equal(config.database_url, "postgres://yaml@h/db");
  });
  await t.step("environment overrides YAML", async () => {
    const config = await loadConfig({
      cwd: project.root,
      env: { STRATA_MIGRATIONS_LOCK_TIMEOUT: "750ms", DATABASE_URL: "postgres://env@h/db" },
    });
    assert.equal(config.migrations.lock_timeout, 750);
    assert.equal(config.database_url, "postgres://env@h/db");
  });
  await t.step("--database-url overrides the environment", async () => {
    const config = await loadConfig({
      cwd: project.root,
      env: { DATABASE_URL: "postgres://env@h/db" },
      overrides: { database_url: "postgres://flag@h/db" },
    });
    assert.equal(config.database_url, "postgres://flag@h/db");
  });
});

Deno.test("config: errors name the key path or the variable", async (t) => {
  await using project = await tempProject({
    "bad.yaml": "embedded:\n  port: 70000\n  colour: blue\n",
    "broken.yaml": "migrations:\n  lock_timeout: [\n",
  });
  await t.step("schema errors name the path", async () => {
    await assert.rejects(loadConfig({ cwd: project.root, path: "bad.yaml", env: {} }), (error: Error) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /embedded\.port: /);
      assert.match(error.message, /embedded: Unrecognized key: "colour"/);
      return true;
    });
  });
  await t.step("YAML syntax errors name file and line", async () => {
    await assert.rejects(
      loadConfig({ cwd: project.root, path: "broken.yaml", env: {} }),
      /invalid YAML in .*broken\.yaml:3:1/,
    );
  });
  await t.step("environment errors name the variable", async () => {
    await assert.rejects(
      loadConfig({ cwd: project.root, path: "bad.yaml", env: { STRATA_MIGRATIONS_LOCK_RETRIES: "many" } }),
      /migrations\.lock_retries \(from STRATA_MIGRATIONS_LOCK_RETRIES\)/,
    );
  });
  await t.step("a missing --config file is an error", async () => {
    await assert.rejects(
      loadConfig({ cwd: project.root, path: "nope.yaml", env: {} }),
      /cannot read configuration file/,
    );
  });
});
