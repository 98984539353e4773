/**
 * The whole schema through the real CLI: up from an empty database, down to
 * empty (nothing of ours left, repeatables included, the cluster-wide roles
 * kept), and up again to exactly the same schema.
 */
import assert from "node:assert/strict";
import { runStrata } from "../support/cli.ts";
import { withTestDatabase } from "../support/db.ts";
import type { Sql } from "./fixtures.ts";

/** Everything of ours in the public schema, as comparable text. */
async function snapshot(sql: Sql): Promise<Record<string, string[]>> {
  const list = async (rows: Promise<{ v: string }[]>) => (await rows).map((r) => r.v);
  const notExtension = (classid: string, col: string) =>
    sql.unsafe(`not exists (select 1 from pg_depend d where d.classid = '${classid}'::regclass
                             and d.objid = ${col} and d.deptype = 'e')`);
  return {
    relations: await list(sql`
      select c.relname || ' ' || c.relkind::text || ' owner=' || pg_get_userbyid(c.relowner)
             || ' rls=' || c.relrowsecurity || '/' || c.relforcerowsecurity
             || ' acl=' || coalesce(c.relacl::text, '') as v
        from pg_class c where c.relnamespace = 'public'::regnamespace and ${notExtension("pg_class", "c.oid")}
       order by 1`),
    indexes: await list(sql`select indexdef as v from pg_indexes where schemaname = 'public' order by 1`),
    columns: await list(sql`
      select c.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull
             || ' ' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), '') as v
        from pg_attribute a join pg_class c on c.oid = a.attrelid
        left join pg_attrdef ad on ad.adrelid = a.attrelid and ad.adnum = a.attnum
       where c.relnamespace = 'public'::regnamespace and c.relkind in ('r', 'p', 'm', 'v')
         and a.attnum > 0 and not a.attisdropped and ${notExtension("pg_class", "c.oid")}
       order by 1`),
    constraints: await list(sql`
      select conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) as v
        from pg_constraint where connamespace = 'public'::regnamespace order by 1`),
    functions: await list(sql`
      select p.oid::regprocedure::text || ' ' || md5(p.prosrc) || ' ' || coalesce(p.proconfig::text, '')
             || ' ' || coalesce(p.proacl::text, '') as v
        from pg_proc p where p.pronamespace = 'public'::regnamespace and ${notExtension("pg_proc", "p.oid")}
       order by 1`),
    policies: await list(sql`
      select tablename || ' ' || policyname || ' ' || cmd || ' ' || roles::text || ' ' || coalesce(qual, '')
             || ' ' || coalesce(with_check, '') as v
        from pg_policies where schemaname = 'public' order by 1`),
    types: await list(sql`
      select t.typname as v from pg_type t
       where t.typnamespace = 'public'::regnamespace and t.typtype = 'e' order by 1`),
    extensions: await list(sql`select extname as v from pg_extension where extname <> 'plpgsql' order by 1`),
    schemaGrants: await list(sql`
      select coalesce(r.rolname, 'PUBLIC') || ':' || a.privilege_type as v
        from pg_namespace n cross join aclexplode(n.nspacl) a left join pg_roles r on r.oid = a.grantee
       where n.nspname = 'public' and r.rolname like 'strata%' order by 1`),
  };
}

Deno.test("schema migrates up from empty, down to empty, and up again", async (t) => {
  await withTestDatabase(async (db) => {
    const empty = await snapshot(db.sql);

    let first: Record<string, string[]> = {};
    await t.step("up from an empty database", async () => {
      const up = await runStrata(["migrate", "--database-url", db.url]);
      assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
      first = await snapshot(db.sql);
      assert.ok(first.relations.some((r) => r.startsWith("analytics_events p owner=strata_owner")));
      assert.ok(first.functions.some((f) => f.startsWith("get_customer_context(text)")));
      assert.ok(first.policies.length > 20);
      assert.deepEqual(first.extensions, ["btree_gin", "pg_stat_statements"]);
    });

    await t.step("down to 0 leaves nothing of ours, but keeps the cluster-wide roles", async () => {
      const down = await runStrata(["down", "--to", "0", "--database-url", db.url]);
      assert.equal(down.code, 0, `${down.stdout}\n${down.stderr}`);
      assert.deepEqual(await snapshot(db.sql), empty);
      const roles = await db.sql`
        select rolname from pg_roles
         where rolname in ('strata_owner', 'strata_app', 'strata_worker', 'strata_readonly') order by 1`;
      assert.deepEqual(roles.map((r) => r.rolname), ["strata_app", "strata_owner", "strata_readonly", "strata_worker"]);
    });

    await t.step("up again produces the same schema", async () => {
      const up = await runStrata(["migrate", "--database-url", db.url]);
      assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
      assert.deepEqual(await snapshot(db.sql), first);
    });
  });
});
