import assert from "node:assert/strict";
import { serverMajor, withTestDatabase } from "../support/db.ts";

// CI names the server it means to test (18 embedded, 15 from Debian), so a
// run that silently fell back to another server fails instead of passing.
const expected = Deno.env.get("TEST_EXPECT_PG_MAJOR");

Deno.test({
  name: "server: the suite runs on the PostgreSQL major version CI asked for",
  ignore: expected === undefined,
  fn: async () => {
    await withTestDatabase(async (db) => {
      const major = await serverMajor(db.sql);
      assert.equal(major, Number(expected));
      const [row] = await db.sql`select current_setting('shared_preload_libraries') as preload`;
      assert.match(row.preload, /pg_stat_statements/);
    });
  },
});
