/**
 * The application reads the leaderboard through the view
 * workshop_leaderboard_member as stored: the display name denormalised into
 * the materialized view, the top N in the order of its (workshop_id, rank,
 * user_id) index, no join to users, and only the caller's workshops.
 * Workshop A gets more members than the default limit, with ties on rank, and
 * a hundred other workshops make its rows a small part of the view.
 */
import assert from "node:assert/strict";
import { withTestDatabase } from "../support/db.ts";
import { as, type Fixture, migrate, seed, type Sql } from "./fixtures.ts";

/** Members added to workshop A: more than a top 50. */
const EXTRA_A = 70;
const OTHER_WORKSHOPS = 100;
const MEMBERS_PER_OTHER = 30;

/** A workshop's top 50 from the materialized view, as the member view's query reads it. */
const TOP_N = `
  select workshop_id, user_id, display_name, completed_modules, average_score, rank, last_completed_at
    from workshop_leaderboard where workshop_id = $1 order by rank, user_id limit 50`;

/** Members with one to three completed modules and few distinct scores, so ranks tie. */
async function addMembers(sql: Sql, f: Fixture): Promise<void> {
  await sql`insert into modules (slug, title) select 'extra-' || i, 'Extra ' || i from generate_series(1, 3) i`;
  await sql`
    insert into workshops (slug, name)
    select 'lb-' || i, 'Leaderboard ' || i from generate_series(1, ${OTHER_WORKSHOPS}) i`;
  await sql`
    with targets as (
      select ${f.workshopA}::uuid as workshop_id, 'a-' || i as tag from generate_series(1, ${EXTRA_A}) i
      union all
      select w.id, w.slug || '-' || i from workshops w cross join generate_series(1, ${MEMBERS_PER_OTHER}) i
       where w.slug like 'lb-%'),
    users_added as (
      insert into users (email, display_name)
      select tag || '@lb.test', 'Member ' || tag from targets returning id, email)
    insert into workshop_members (workshop_id, user_id, role)
    select t.workshop_id, u.id, 'staff' from targets t join users_added u on u.email = t.tag || '@lb.test'`;
  await sql`
    insert into workshop_progress (user_id, workshop_id, module_id, status, score, updated_at)
    select m.user_id, m.workshop_id, mo.id, 'completed', 60 + 10 * (abs(hashtext(m.user_id::text)) % 3),
           now() - interval '1 day'
      from workshop_members m
      join users u on u.id = m.user_id and u.email like '%@lb.test'
      join lateral (
        select id from modules order by id limit 1 + abs(hashtext(m.user_id::text || 'n')) % 3
      ) mo on true`;
  await sql`refresh materialized view workshop_leaderboard`;
  await sql`analyze workshop_leaderboard`;
}

/** Every node type of an EXPLAIN (FORMAT JSON) plan. */
function nodeTypes(explained: unknown): string[] {
  const doc = typeof explained === "string" ? JSON.parse(explained) : explained;
  const types: string[] = [];
  const walk = (node: { "Node Type": string; Plans?: unknown[] }) => {
    types.push(node["Node Type"]);
    for (const child of node.Plans ?? []) walk(child as typeof node);
  };
  walk((doc as { Plan: { "Node Type": string } }[])[0].Plan);
  return types;
}

/** The leaderboard of workshop A as Alice (its owner) sees it through the member view. */
function leaderboardOfA(sql: Sql, f: Fixture, limit = 1000) {
  return as(
    sql,
    "strata_app",
    f.alice,
    (tx) =>
      tx`select * from workshop_leaderboard_member where workshop_id = ${f.workshopA}
          order by rank, user_id limit ${limit}`,
  );
}

Deno.test("leaderboard member view", async (t) => {
  await withTestDatabase(async (db) => {
    await migrate(db.url);
    const sql = db.sql;
    const f = await seed(sql);
    await addMembers(sql, f);
    const [{ n: rowsOfA }] = await sql`
      select count(*)::int as n from workshop_leaderboard where workshop_id = ${f.workshopA}`;
    assert.equal(rowsOfA, 2 + EXTRA_A, "fixture: Alice, Carol and the added members are ranked");

    await t.step("returns display_name from the view, equal to users.display_name after a refresh", async () => {
      const rows = await leaderboardOfA(sql, f);
      assert.equal(rows.length, rowsOfA);
      const names = new Map(
        (await sql`select id, display_name from users`).map((u) => [u.id as string, u.display_name as string]),
      );
      const stored = new Map(
        (await sql`select user_id, display_name from workshop_leaderboard where workshop_id = ${f.workshopA}`)
          .map((r) => [r.user_id as string, r.display_name as string]),
      );
      for (const r of rows) {
        assert.equal(r.display_name, names.get(r.user_id), `users.display_name of ${r.user_id}`);
        assert.equal(r.display_name, stored.get(r.user_id), `the view's display_name of ${r.user_id}`);
      }
    });

    await t.step("rows come in rank order without a Sort node", async () => {
      const plans = await as(sql, "strata_owner", null, async (tx) => {
        // For a workshop's few rows, a bitmap scan plus a sort costs about as
        // much as the ordered index scan, and which one the planner takes
        // depends on how REFRESH ... CONCURRENTLY has scattered them over the
        // heap. What the index must guarantee is that an ordered path exists:
        // with only index scans allowed, any other index needs a sort.
        await tx`set local enable_seqscan = off`;
        await tx`set local enable_bitmapscan = off`;
        const [custom] = await tx.unsafe(`explain (format json) ${TOP_N}`, [f.workshopA]);
        // The application's prepared statement turns generic after a few calls.
        await tx.unsafe(`prepare top_n(uuid) as ${TOP_N}`);
        await tx`set local plan_cache_mode = force_generic_plan`;
        const [generic] = await tx.unsafe(`explain (format json) execute top_n('${f.workshopA}')`);
        // Prepared statements outlive the rolled-back transaction.
        await tx.unsafe("deallocate top_n");
        return [custom["QUERY PLAN"], generic["QUERY PLAN"]].map(nodeTypes);
      });
      for (const types of plans) {
        assert.ok(types.includes("Index Scan"), `an index scan: ${types.join(" > ")}`);
        assert.ok(!types.some((type) => type.includes("Sort")), `no sort: ${types.join(" > ")}`);
      }

      const rows = await leaderboardOfA(sql, f);
      const ordered = [...rows].sort((a, b) =>
        a.rank - b.rank || (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0)
      );
      assert.deepEqual(rows.map((r) => r.user_id), ordered.map((r) => r.user_id));
      assert.ok(new Set(rows.map((r) => r.rank)).size < rows.length, "fixture: ties on rank, ordered by user_id");
    });

    await t.step("a top N is the first N rows in rank order", async () => {
      const all = (await leaderboardOfA(sql, f)).map((r) => r.user_id);
      assert.ok(all.length > 50);
      assert.deepEqual((await leaderboardOfA(sql, f, 50)).map((r) => r.user_id), all.slice(0, 50));
      assert.deepEqual((await leaderboardOfA(sql, f, 3)).map((r) => r.user_id), all.slice(0, 3));
    });

    await t.step("security barrier: a function in the caller's WHERE never sees another workshop's row", async () => {
      // A cheap function that is not leakproof would be evaluated before the
      // view's membership test without security_barrier, and could copy out
      // any row it is shown; this one fails the query if shown one of B's.
      await sql.unsafe(`
        create function leak_probe(w uuid) returns boolean language plpgsql cost 0.0001 as $$
        begin
          if w = '${f.workshopB}' then raise exception 'leak_probe saw workshop B'; end if;
          return true;
        end $$`);
      await sql.unsafe("grant execute on function leak_probe(uuid) to strata_app");
      const rows = await as(
        sql,
        "strata_app",
        f.alice,
        (tx) => tx`select workshop_id from workshop_leaderboard_member where leak_probe(workshop_id)`,
      );
      assert.ok(rows.length > 0 && rows.every((r) => r.workshop_id === f.workshopA));
      const [{ options }] = await sql`
        select reloptions as options from pg_class where oid = 'public.workshop_leaderboard_member'::regclass`;
      assert.deepEqual(options, ["security_barrier=true"]);
      await sql.unsafe("drop function leak_probe(uuid)");
    });

    await t.step("REFRESH CONCURRENTLY still works, and a renamed user's new name appears after it", async () => {
      const names = await as(sql, "strata_app", f.alice, async (tx) => {
        const nameOfCarol = async () => {
          const rows =
            await tx`select user_id, display_name from workshop_leaderboard_member where workshop_id = ${f.workshopA}`;
          return rows.find((r) => r.user_id === f.carol)?.display_name;
        };
        await tx.unsafe("reset role");
        await tx`update users set display_name = 'Carol Renamed' where id = ${f.carol}`;
        await tx.unsafe("set local role strata_app");
        const before = await nameOfCarol();
        await tx.unsafe("reset role");
        await tx`refresh materialized view concurrently workshop_leaderboard`;
        await tx.unsafe("set local role strata_app");
        return { before, after: await nameOfCarol() };
      });
      assert.deepEqual(names, { before: "Carol", after: "Carol Renamed" }, "as fresh as the last refresh");
    });

    await t.step("a refresh rewrites only the rows whose ranking changed, and records its time", async () => {
      // refreshed_at used to be a column holding now(), which made every row
      // differ at every REFRESH ... CONCURRENTLY and the whole view rewritten.
      const xmins = async () =>
        new Map(
          (await sql`select workshop_id::text || user_id::text as k, xmin::text as x from workshop_leaderboard`)
            .map((r) => [r.k as string, r.x as string]),
        );
      const [first] = await sql`select refreshed, row_count::int as rows from refresh_workshop_leaderboard()`;
      assert.equal(first.refreshed, true);
      const [{ at: firstAt }] = await sql`select refreshed_at as at from workshop_leaderboard_refresh`;
      const before = await xmins();
      await sql`
        insert into workshop_progress (user_id, workshop_id, module_id, status, score, updated_at)
        select ${f.bob}, ${f.workshopB}, id, 'completed', 80, now() from modules
         where id not in (select module_id from workshop_progress where user_id = ${f.bob})
         limit 1`;
      const [second] = await sql`select refreshed, row_count::int as rows from refresh_workshop_leaderboard()`;
      assert.equal(second.refreshed, true);
      const after = await xmins();
      assert.equal(after.size, before.size);
      const rewritten = [...after].filter(([k, x]) => before.get(k) !== x).map(([k]) => k);
      assert.deepEqual(rewritten, [`${f.workshopB}${f.bob}`], "only Bob's ranking changed");
      const [{ at: secondAt }] = await sql`select refreshed_at as at from workshop_leaderboard_refresh`;
      assert.ok(secondAt > firstAt, "refreshed_at moves with each refresh");
      const rows = await as(
        sql,
        "strata_app",
        f.alice,
        (tx) => tx`select distinct refreshed_at from workshop_leaderboard_member where workshop_id = ${f.workshopA}`,
      );
      assert.deepEqual(rows.map((r) => r.refreshed_at), [secondAt], "the member view reports the last refresh");
    });
  });
});
