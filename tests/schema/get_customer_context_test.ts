/**
 * get_customer_context(slug) must return exactly what the four queries it
 * replaces return, in one call, for an anonymous caller (the chat widget has
 * no app.user_id), and NULL for an unknown slug.
 */
import assert from "node:assert/strict";
import { withTestDatabase } from "../support/db.ts";
import { as, fourQueries, migrate, seed } from "./fixtures.ts";

Deno.test("get_customer_context", async (t) => {
  await withTestDatabase(async (db) => {
    await migrate(db.url);
    const sql = db.sql;
    await seed(sql);

    for (const slug of ["garage-a", "garage-b"]) {
      await t.step(`${slug}: same document as the four queries, for an anonymous caller`, async () => {
        const expected = await fourQueries(sql, slug);
        const [{ doc }] = await as(sql, "strata_app", null, (tx) => tx`select get_customer_context(${slug}) as doc`);
        assert.deepEqual(doc, expected);
      });
    }

    await t.step("only active services, and the global plus the workshop's own active FAQ", async () => {
      const [{ doc }] = await sql`select get_customer_context('garage-a') as doc`;
      assert.deepEqual(doc.services.map((s: { name: string }) => s.name), ["Brake pads", "Oil change"]);
      assert.deepEqual(
        doc.faq.map((f: { scope: string; question: string }) => `${f.scope}: ${f.question}`),
        ["global: Do you take cards?", "workshop: Do you lend cars?"],
      );
      assert.deepEqual(doc.opening_hours, { mon: [["08:00", "17:00"]], sat: [] });
    });

    await t.step("a workshop without services or FAQ of its own gets empty arrays and the global FAQ", async () => {
      await sql`insert into workshops (slug, name) values ('garage-empty', 'Empty')`;
      const [{ doc }] = await sql`select get_customer_context('garage-empty') as doc`;
      assert.deepEqual(doc.services, []);
      assert.equal(doc.faq.length, 1);
      assert.deepEqual(doc, await fourQueries(sql, "garage-empty"));
    });

    await t.step("an unknown slug returns NULL", async () => {
      const [{ doc }] = await as(
        sql,
        "strata_app",
        null,
        (tx) => tx`select get_customer_context('no-such-garage') as doc`,
      );
      assert.equal(doc, null);
      assert.equal(await fourQueries(sql, "no-such-garage"), null);
    });

    await t.step("it is STABLE, SECURITY DEFINER, with a pinned search_path", async () => {
      const [fn] = await sql`
        select provolatile, prosecdef, proconfig from pg_proc where oid = 'get_customer_context(text)'::regprocedure`;
      assert.equal(fn.provolatile, "s");
      assert.equal(fn.prosecdef, true);
      assert.ok(fn.proconfig.some((c: string) => c.startsWith("search_path=")));
    });
  });
});
