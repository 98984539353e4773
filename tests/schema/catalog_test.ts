/**
 * Structural rules of the schema, read from the system catalogs of a freshly
 * migrated database: they hold for every table, index, policy and function,
 * including ones added later, so a new migration that breaks a rule fails
 * here without anyone writing a new test.
 */
import assert from "node:assert/strict";
import { withTestDatabase } from "../support/db.ts";
import { migrate, seed } from "./fixtures.ts";

/** Tables isolated per workshop: the spec's tenant tables. */
const TENANT_TABLES = [
  "workshops",
  "users",
  "workshop_members",
  "customer_services",
  "faq",
  "leads",
  "chat_history_archive",
  "analytics_events",
  "workshop_progress",
  "customer_context_cache",
];

/** Relations of ours: in public and not created by an extension. */
const OURS = `
  c.relnamespace = 'public'::regnamespace
  and not exists (select 1 from pg_depend d
                   where d.classid = 'pg_class'::regclass and d.objid = c.oid and d.deptype = 'e')`;

Deno.test("schema catalog rules", async (t) => {
  await withTestDatabase(async (db) => {
    await migrate(db.url);
    const sql = db.sql;

    await t.step("every table of the spec exists", async () => {
      const rows = await sql`select c.relname, c.relkind from pg_class c where ${
        sql.unsafe(OURS)
      } and c.relkind in ('r', 'p', 'm')`;
      const names = new Set(rows.map((r) => r.relname));
      for (
        const name of [
          ...TENANT_TABLES,
          "modules",
          "workshop_leaderboard",
          "projects",
          "blog_posts",
          "job_runs",
          "slow_query_snapshots",
          "slow_query_findings",
          "performance_alerts",
        ]
      ) {
        assert.ok(names.has(name), `missing ${name}`);
      }
      assert.equal(rows.find((r) => r.relname === "analytics_events")?.relkind, "p", "analytics_events is partitioned");
      assert.equal(
        rows.find((r) => r.relname === "workshop_leaderboard")?.relkind,
        "m",
        "the leaderboard is materialized",
      );
    });

    await t.step("every table with a workshop_id is a tenant table", async () => {
      const rows = await sql`
        select c.relname from pg_class c join pg_attribute a on a.attrelid = c.oid
         where ${sql.unsafe(OURS)} and c.relkind in ('r', 'p') and not c.relispartition
           and a.attname = 'workshop_id' and not a.attisdropped`;
      for (const { relname } of rows) {
        assert.ok(TENANT_TABLES.includes(relname), `${relname} is not in the tenant list`);
      }
    });

    await t.step("every tenant table has row-level security enabled and forced", async () => {
      const rows = await sql`
        select relname, relrowsecurity, relforcerowsecurity from pg_class
         where relnamespace = 'public'::regnamespace and relname = any(${TENANT_TABLES})`;
      assert.equal(rows.length, TENANT_TABLES.length);
      for (const r of rows) {
        assert.ok(r.relrowsecurity, `${r.relname}: RLS not enabled`);
        assert.ok(r.relforcerowsecurity, `${r.relname}: RLS not forced`);
      }
    });

    await t.step("every tenant table has a policy for each command the application is granted", async () => {
      const rows = await sql`
        with granted as (
          select c.relname, p.cmd
            from pg_class c
           cross join unnest(array['SELECT', 'INSERT', 'UPDATE', 'DELETE']) as p(cmd)
           where c.relnamespace = 'public'::regnamespace and c.relname = any(${TENANT_TABLES})
             and has_table_privilege('strata_app', c.oid, p.cmd))
        select g.relname, g.cmd from granted g
         where not exists (
           select 1 from pg_policies p
            where p.schemaname = 'public' and p.tablename = g.relname
              and 'strata_app' = any(p.roles) and p.cmd in (g.cmd, 'ALL'))`;
      assert.deepEqual(rows.map((r) => `${r.relname} ${r.cmd}`), []);
    });

    await t.step("application policies call the helpers through a sub-select", async () => {
      const rows = await sql`
        select tablename, policyname, coalesce(qual, '') || ' ' || coalesce(with_check, '') as expr
          from pg_policies where schemaname = 'public' and 'strata_app' = any(roles)`;
      assert.ok(rows.length > 0);
      for (const r of rows) {
        // Every helper call must sit directly inside "(SELECT ...": an
        // uncorrelated sub-select is an InitPlan, evaluated once per query.
        const calls = [...r.expr.matchAll(/app_[a-z_]+\(\)/g)];
        for (const call of calls) {
          const before = r.expr.slice(0, call.index).trimEnd();
          assert.match(
            before,
            /\(\s*SELECT(\s+[a-z_]+\.)?$/i,
            `${r.tablename}.${r.policyname} calls ${call[0]} per row`,
          );
        }
      }
    });

    await t.step("write policies of the application check the new row", async () => {
      const rows = await sql`
        select tablename, policyname from pg_policies
         where schemaname = 'public' and 'strata_app' = any(roles)
           and cmd in ('INSERT', 'UPDATE', 'ALL') and with_check is null`;
      assert.deepEqual(rows.map((r) => `${r.tablename}.${r.policyname}`), []);
    });

    await t.step("every column a policy filters on is covered by an index", async () => {
      // pg_depend records each column a policy expression reads (its own
      // table's and those of its sub-selects). A column is covered when an
      // index of its table contains it (key, INCLUDE or predicate) and leads
      // with a column the same policy filters on, so the index is usable.
      const rows = await sql`
        with policy_columns as (
          select distinct pol.oid as policy, pol.polname, d.refobjid as relid, d.refobjsubid as attnum
            from pg_policy pol
            join pg_depend d on d.classid = 'pg_policy'::regclass and d.objid = pol.oid
                            and d.refclassid = 'pg_class'::regclass and d.refobjsubid > 0
            join pg_class c on c.oid = pol.polrelid and c.relnamespace = 'public'::regnamespace),
        index_columns as (
          -- Plain columns (keys and INCLUDE) from indkey; columns read by
          -- expressions and predicates from pg_depend.
          select i.indexrelid, i.indrelid, i.indkey[0] as lead, k.attnum
            from pg_index i cross join unnest(i.indkey::int2[]) as k(attnum)
           where i.indisvalid and k.attnum > 0
          union
          select i.indexrelid, i.indrelid, i.indkey[0] as lead, d.refobjsubid
            from pg_index i
            join pg_depend d on d.classid = 'pg_class'::regclass and d.objid = i.indexrelid
                            and d.refclassid = 'pg_class'::regclass and d.refobjid = i.indrelid
           where i.indisvalid and d.refobjsubid > 0)
        select pc.polname, pc.relid::regclass::text as rel, a.attname
          from policy_columns pc
          join pg_attribute a on a.attrelid = pc.relid and a.attnum = pc.attnum
         where not exists (
           select 1 from index_columns ic
            where ic.indrelid = pc.relid and ic.attnum = pc.attnum
              and exists (select 1 from policy_columns lead
                           where lead.policy = pc.policy and lead.relid = pc.relid and lead.attnum = ic.lead))`;
      assert.deepEqual(rows.map((r) => `${r.polname}: ${r.rel}.${r.attname}`), []);
    });

    await t.step("every foreign key is covered by an index on its leading columns", async () => {
      const rows = await sql`
        select con.conname, con.conrelid::regclass::text as rel
          from pg_constraint con
          join pg_class c on c.oid = con.conrelid
         where con.contype = 'f' and ${sql.unsafe(OURS)}
           and not exists (
             select 1 from pg_index i
              where i.indrelid = con.conrelid and i.indpred is null
                and (i.indkey::int2[])[0:cardinality(con.conkey) - 1] @> con.conkey
                and (i.indkey::int2[])[0:cardinality(con.conkey) - 1] <@ con.conkey)`;
      assert.deepEqual(rows.map((r) => `${r.rel}: ${r.conname}`), []);
      const [{ n }] =
        await sql`select count(*)::int as n from pg_constraint where contype = 'f' and connamespace = 'public'::regnamespace`;
      assert.ok(n >= 15, `the check saw the foreign keys (${n})`);
    });

    await t.step("no index is redundant", async () => {
      // Redundant: same table, method and predicate, and its key columns are
      // a prefix of another's (a unique index only when both are identical,
      // since a shorter unique index enforces something the longer does not).
      const rows = await sql`
        with idx as (
          select i.indexrelid, i.indrelid, i.indisunique, c.relam,
                 coalesce(pg_get_expr(i.indpred, i.indrelid), '') as pred,
                 array(select pg_get_indexdef(i.indexrelid, k, true)
                         from generate_series(1, i.indnkeyatts) k order by k) as cols,
                 i.indclass::oid[] as opclasses
            from pg_index i join pg_class c on c.oid = i.indexrelid
           where c.relnamespace = 'public'::regnamespace)
        select a.indexrelid::regclass::text as redundant, b.indexrelid::regclass::text as covered_by
          from idx a join idx b on a.indrelid = b.indrelid and a.indexrelid <> b.indexrelid
                              and a.relam = b.relam and a.pred = b.pred
         where cardinality(a.cols) <= cardinality(b.cols)
           and a.cols = b.cols[1:cardinality(a.cols)]
           and a.opclasses[0:cardinality(a.cols) - 1] = b.opclasses[0:cardinality(a.cols) - 1]
           and (not a.indisunique or (a.cols = b.cols and b.indisunique))
           -- identical pairs are reported once
           and not (a.cols = b.cols and a.indisunique = b.indisunique and a.indexrelid > b.indexrelid)`;
      assert.deepEqual(rows.map((r) => `${r.redundant} (covered by ${r.covered_by})`), []);
    });

    await t.step("every partition carries the parent's indexes and is protected", async () => {
      const parents = await sql`select c.oid::regclass::text as name from pg_class c where ${
        sql.unsafe(OURS)
      } and c.relkind = 'p'`;
      assert.ok(parents.some((p) => p.name === "analytics_events"));
      for (const { name } of parents) {
        const rows = await sql`
          select part.relid::regclass::text as partition, pi.indexrelid::regclass::text as parent_index,
                 exists (select 1 from pg_inherits ih join pg_index ci on ci.indexrelid = ih.inhrelid
                          where ih.inhparent = pi.indexrelid and ci.indrelid = part.relid and ci.indisvalid) as has_index
            from pg_partition_tree(${name}::regclass) part
           cross join pg_index pi
           where part.level > 0 and pi.indrelid = ${name}::regclass`;
        assert.ok(rows.length >= 5 * 3, `${name}: partitions × indexes`);
        assert.deepEqual(rows.filter((r) => !r.has_index).map((r) => `${r.partition} lacks ${r.parent_index}`), []);

        const protections = await sql`
          select c.relname, c.relrowsecurity, c.relforcerowsecurity,
                 (select count(*) from pg_policy p where p.polrelid = c.oid)::int as policies,
                 has_table_privilege('strata_app', c.oid, 'SELECT,INSERT,UPDATE,DELETE') as app,
                 has_table_privilege('strata_worker', c.oid, 'SELECT,INSERT,UPDATE,DELETE') as worker,
                 has_table_privilege('strata_readonly', c.oid, 'SELECT') as readonly
            from pg_partition_tree(${name}::regclass) part join pg_class c on c.oid = part.relid
           where part.level > 0`;
        for (const p of protections) {
          assert.ok(p.relrowsecurity && p.relforcerowsecurity, `${p.relname}: forced RLS`);
          assert.equal(p.policies, 0, `${p.relname}: no policy, so direct reads see nothing`);
          assert.deepEqual([p.app, p.worker, p.readonly], [false, false, false], `${p.relname}: no grants`);
        }
      }
    });

    await t.step("the default partition exists and the first months are there (UTC bounds)", async () => {
      const rows = await sql`
        select c.relname, pg_get_expr(c.relpartbound, c.oid) as bound
          from pg_partition_tree('analytics_events') t join pg_class c on c.oid = t.relid
         where t.level > 0 order by 1`;
      assert.ok(rows.some((r) => r.bound === "DEFAULT"), "default partition");
      const [{ months }] = await sql`
        select array_agg(to_char((now() at time zone 'UTC')::date + make_interval(months => i), 'YYYY_MM') order by i) as months
          from generate_series(0, 3) i`;
      for (const month of months as string[]) {
        const p = rows.find((r) => r.relname === `analytics_events_${month}`);
        assert.ok(p, `partition for ${month}`);
        const [y, m] = month.split("_");
        assert.match(p.bound, new RegExp(`^FOR VALUES FROM \\('${y}-${m}-01 00:00:00\\+00'\\) TO `), p.bound);
      }
    });

    await t.step("every SECURITY DEFINER function pins search_path and is not executable by PUBLIC", async () => {
      const rows = await sql`
        select p.oid::regprocedure::text as fn, p.proconfig,
               pg_get_userbyid(p.proowner) as owner,
               array(select coalesce(r.rolname, 'PUBLIC') from aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
                       left join pg_roles r on r.oid = a.grantee
                      where a.privilege_type = 'EXECUTE') as executors
          from pg_proc p
         where p.pronamespace = 'public'::regnamespace and p.prosecdef`;
      assert.ok(rows.length >= 6, `found the definer functions (${rows.length})`);
      for (const r of rows) {
        assert.ok(
          (r.proconfig ?? []).some((c: string) => c.startsWith("search_path=")),
          `${r.fn}: search_path not set`,
        );
        assert.equal(r.owner, "strata_owner", `${r.fn}: owner`);
        assert.ok(!r.executors.includes("PUBLIC"), `${r.fn}: executable by PUBLIC`);
        for (const role of r.executors) {
          assert.ok(["strata_owner", "strata_app", "strata_worker"].includes(role), `${r.fn}: executable by ${role}`);
        }
      }
    });

    await t.step("every object of ours is owned by strata_owner", async () => {
      const rows = await sql`
        select c.relname, pg_get_userbyid(c.relowner) as owner from pg_class c
         where ${sql.unsafe(OURS)} and pg_get_userbyid(c.relowner) <> 'strata_owner'`;
      assert.deepEqual(rows.map((r) => `${r.relname} (${r.owner})`), []);
      const fns = await sql`
        select p.oid::regprocedure::text as fn from pg_proc p
         where p.pronamespace = 'public'::regnamespace and pg_get_userbyid(p.proowner) <> 'strata_owner'
           and not exists (select 1 from pg_depend d where d.classid = 'pg_proc'::regclass and d.objid = p.oid and d.deptype = 'e')`;
      assert.deepEqual(fns.map((r) => r.fn), []);
    });

    await t.step("no timestamp without time zone; primary keys: bigint identity, uuid or singleton", async () => {
      const naive = await sql`
        select c.relname || '.' || a.attname as col from pg_attribute a join pg_class c on c.oid = a.attrelid
         where ${sql.unsafe(OURS)} and c.relkind in ('r', 'p', 'm', 'v') and a.attnum > 0 and not a.attisdropped
           and a.atttypid in ('timestamp'::regtype, 'time'::regtype)`;
      assert.deepEqual(naive.map((r) => r.col), []);
      const pks = await sql`
        select c.relname, con.conkey, array(select format_type(a.atttypid, null) || coalesce(nullif(a.attidentity::text, ''), '-')
                                             from unnest(con.conkey) k join pg_attribute a on a.attrelid = c.oid and a.attnum = k) as cols,
               -- A one-column boolean key with CHECK (column): the table holds at most one row.
               exists (select 1 from pg_constraint ck join pg_attribute a on a.attrelid = c.oid and a.attnum = ck.conkey[1]
                        where ck.conrelid = c.oid and ck.contype = 'c' and ck.conkey = con.conkey
                          and a.atttypid = 'boolean'::regtype
                          and pg_get_constraintdef(ck.oid) = 'CHECK (' || quote_ident(a.attname) || ')') as singleton
          from pg_constraint con join pg_class c on c.oid = con.conrelid
         where con.contype = 'p' and ${sql.unsafe(OURS)} and not c.relispartition`;
      for (const pk of pks) {
        // A surrogate key, a composite of foreign keys (memberships,
        // progress, archive positions, partition key), or the key of a
        // single-row table (customer_context_global, workshop_leaderboard_refresh),
        // which identifies nothing.
        const surrogate = pk.cols.some((c: string) => c === "uuid-" || c === "bigintd" || c === "biginta");
        const composite = pk.cols.length > 1;
        assert.ok(surrogate || composite || pk.singleton, `${pk.relname}: primary key ${pk.cols}`);
      }
      assert.ok(
        pks.some((pk) => pk.singleton && pk.relname === "customer_context_global"),
        "the check saw a singleton",
      );
      const tables = await sql`
        select c.relname from pg_class c where ${sql.unsafe(OURS)} and c.relkind in ('r', 'p') and not c.relispartition
           and not exists (select 1 from pg_constraint con where con.conrelid = c.oid and con.contype = 'p')`;
      assert.deepEqual(tables.map((r) => r.relname), [], "tables without a primary key");
    });

    await t.step("the materialized view has the unique index REFRESH CONCURRENTLY needs", async () => {
      await sql`refresh materialized view concurrently workshop_leaderboard`;
    });

    await t.step("GIN indexes: jsonb_path_ops on workshops.settings, chat search on leads", async () => {
      const [settings] = await sql`select pg_get_indexdef('workshops_settings_idx'::regclass) as def`;
      assert.match(settings.def, /USING gin \(settings jsonb_path_ops\)/);
      await seed(sql);
      const plan = await sql.begin(async (tx) => {
        await tx`set local enable_seqscan = off`;
        const rows = await tx.unsafe(`
          explain (costs off)
          select id from leads
           where to_tsvector('simple'::regconfig, jsonb_path_query_array(chat_history, '$[*].content'))
                 @@ websearch_to_tsquery('simple', 'brakes b2')`);
        const found = await tx.unsafe(`
          select count(*)::int as n from leads
           where to_tsvector('simple'::regconfig, jsonb_path_query_array(chat_history, '$[*].content'))
                 @@ websearch_to_tsquery('simple', 'brakes b2')`);
        return { plan: rows.map((r) => r["QUERY PLAN"]).join("\n"), n: found[0].n };
      });
      assert.match(plan.plan, /leads_chat_search_idx/, plan.plan);
      assert.equal(plan.n, 1, "only the lead whose messages mention both words");
    });
  });
});
