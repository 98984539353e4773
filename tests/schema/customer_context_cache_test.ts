/**
 * get_customer_context() reads a cache that triggers on customer_services and
 * faq keep up to date. After every kind of write, including concurrent ones
 * and bulk statements, each document must still equal what the four queries
 * it replaced return.
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { runStrata } from "../support/cli.ts";
import { withTestDatabase } from "../support/db.ts";
import { as, assertDenied, type Fixture, fourQueries, migrate, seed, type Sql, type Tx } from "./fixtures.ts";

/** The version before the cache's migration. */
const BEFORE_CACHE = "20261121000800";

async function documentOf(sql: postgres.ISql, slug: string): Promise<unknown> {
  const [{ doc }] = await sql`select get_customer_context(${slug}) as doc`;
  return doc;
}

/** Each slug's document equals the four queries' (seen from the same transaction). */
async function assertCoherent(sql: postgres.ISql, ...slugs: string[]): Promise<void> {
  for (const slug of slugs) {
    assert.deepEqual(await documentOf(sql, slug), await fourQueries(sql, slug), `document of ${slug}`);
  }
}

/**
 * Slugs of every workshop whose document differs from the one built from the
 * source tables, compared as jsonb: the old function's query, all workshops at
 * once.
 */
async function incoherentSlugs(sql: postgres.ISql): Promise<string[]> {
  const rows = await sql`
    select w.slug from workshops w
     where get_customer_context(w.slug)::jsonb is distinct from jsonb_build_object(
             'workshop', jsonb_build_object('id', w.id, 'slug', w.slug, 'name', w.name, 'settings', w.settings),
             'services', coalesce((
               select jsonb_agg(jsonb_build_object('id', s.id, 'name', s.name, 'description', s.description,
                                                   'price', s.price) order by s.name, s.id)
                 from customer_services s where s.workshop_id = w.id and s.active), '[]'::jsonb),
             'faq', coalesce((
               select jsonb_agg(jsonb_build_object('id', f.id,
                                                   'scope', case when f.workshop_id is null then 'global' else 'workshop' end,
                                                   'question', f.question, 'answer', f.answer)
                                order by f.workshop_id nulls first, f.position, f.id)
                 from faq f where (f.workshop_id = w.id or f.workshop_id is null) and f.active), '[]'::jsonb),
             'opening_hours', w.opening_hours)
     order by 1`;
  return rows.map((r) => r.slug);
}

/** Advisory locks this session holds. */
async function advisoryLocks(tx: Tx): Promise<number> {
  const [{ n }] = await tx`
    select count(*)::int as n from pg_locks where locktype = 'advisory' and pid = pg_backend_pid()`;
  return n;
}

/** Waits until the session `pid` is blocked on a heavyweight lock; its wait event. */
async function blockedOn(sql: Sql, pid: number): Promise<string> {
  for (let i = 0; i < 100; i++) {
    const [row] = await sql`select wait_event_type, wait_event from pg_stat_activity where pid = ${pid}`;
    if (row?.wait_event_type === "Lock") return row.wait_event;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  assert.fail(`session ${pid} never waited for a lock`);
}

/**
 * Runs `fn` with two connections of their own; whatever transaction it
 * leaves open is rolled back, the first's before the second's (which may be
 * waiting for it).
 */
async function twoSessions(
  sql: Sql,
  fn: (first: postgres.ReservedSql, second: postgres.ReservedSql) => Promise<void>,
): Promise<void> {
  const first = await sql.reserve();
  const second = await sql.reserve();
  try {
    await fn(first, second);
  } finally {
    for (const session of [first, second]) {
      await session`rollback`.catch(() => {});
      session.release();
    }
  }
}

/** Runs `fn` as the superuser in a transaction that is rolled back. */
function rolledBack<T>(sql: Sql, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return as(sql, null, null, fn);
}

Deno.test("customer context cache", async (t) => {
  await withTestDatabase(async (db) => {
    await migrate(db.url);
    const sql = db.sql;
    const f: Fixture = await seed(sql);
    const serviceId = async (tx: postgres.ISql, name: string) =>
      (await tx`select id from customer_services where name = ${name}`)[0].id as string;

    await t.step("after the fixture's inserts, every document equals the four queries", async () => {
      await assertCoherent(sql, "garage-a", "garage-b");
      assert.deepEqual(await incoherentSlugs(sql), []);
      const [{ rows }] = await sql`select count(*)::int as rows from customer_context_cache`;
      assert.equal(rows, 2);
    });

    await t.step("inserting a service", async () => {
      await rolledBack(sql, async (tx) => {
        await tx`insert into customer_services (workshop_id, name, description, price)
                 values (${f.workshopA}, 'Air filter', 'Cabin and engine', 25.5)`;
        await assertCoherent(tx, "garage-a", "garage-b");
        const doc = (await documentOf(tx, "garage-a")) as { services: { name: string }[] };
        assert.equal(doc.services[0].name, "Air filter");
      });
    });

    await t.step("updating a price", async () => {
      await rolledBack(sql, async (tx) => {
        await tx`update customer_services set price = 84.50 where name = 'Oil change'`;
        await assertCoherent(tx, "garage-a");
      });
    });

    await t.step("deactivating a service, and reactivating one", async () => {
      await rolledBack(sql, async (tx) => {
        await tx`update customer_services set active = not active where name in ('Brake pads', 'Retired service')`;
        await assertCoherent(tx, "garage-a");
        const names = ((await documentOf(tx, "garage-a")) as { services: { name: string }[] }).services;
        assert.deepEqual(names.map((s) => s.name), ["Oil change", "Retired service"]);
      });
    });

    await t.step("deleting a service", async () => {
      await rolledBack(sql, async (tx) => {
        await tx`delete from customer_services where name = 'Tyre swap'`;
        await assertCoherent(tx, "garage-a", "garage-b");
      });
    });

    await t.step("moving a service to another workshop changes both documents", async () => {
      await rolledBack(sql, async (tx) => {
        await tx`update customer_services set workshop_id = ${f.workshopB} where name = 'Oil change'`;
        await assertCoherent(tx, "garage-a", "garage-b");
        const b = (await documentOf(tx, "garage-b")) as { services: { name: string }[] };
        assert.ok(b.services.some((s) => s.name === "Oil change"));
      });
    });

    await t.step("TRUNCATE customer_services empties every workshop's services", async () => {
      await rolledBack(sql, async (tx) => {
        await tx`truncate customer_services`;
        await assertCoherent(tx, "garage-a", "garage-b");
        assert.deepEqual(((await documentOf(tx, "garage-b")) as { services: unknown[] }).services, []);
      });
    });

    await t.step("inserting, updating and deleting a workshop FAQ entry", async () => {
      await rolledBack(sql, async (tx) => {
        await tx`insert into faq (workshop_id, question, answer, position) values (${f.workshopA}, 'Parking?', 'Yes.', 0)`;
        await assertCoherent(tx, "garage-a", "garage-b");
        await tx`update faq set answer = 'Two courtesy cars.', position = 5 where question = 'Do you lend cars?'`;
        await assertCoherent(tx, "garage-a");
        await tx`update faq set active = true where question = 'Hidden A question'`;
        await assertCoherent(tx, "garage-a");
        await tx`delete from faq where question = 'Parking?'`;
        await assertCoherent(tx, "garage-a");
        await tx`delete from faq where workshop_id = ${f.workshopA}`;
        await assertCoherent(tx, "garage-a", "garage-b");
      });
    });

    await t.step("inserting, updating and deleting a global FAQ entry changes every document", async () => {
      await rolledBack(sql, async (tx) => {
        await tx`insert into faq (workshop_id, question, answer, position) values (null, 'Electric cars?', 'Yes.', 0)`;
        await assertCoherent(tx, "garage-a", "garage-b");
        for (const slug of ["garage-a", "garage-b"]) {
          const doc = (await documentOf(tx, slug)) as { faq: { question: string }[] };
          assert.equal(doc.faq[0].question, "Electric cars?", slug);
        }
        await tx`update faq set answer = 'Cards and cash.' where question = 'Do you take cards?'`;
        await assertCoherent(tx, "garage-a", "garage-b");
        // Turning a global entry into a workshop's re-renders both sides.
        await tx`update faq set workshop_id = ${f.workshopB} where question = 'Electric cars?'`;
        await assertCoherent(tx, "garage-a", "garage-b");
        await tx`delete from faq where workshop_id is null`;
        await assertCoherent(tx, "garage-a", "garage-b");
      });
    });

    await t.step("TRUNCATE faq empties every document's FAQ", async () => {
      await rolledBack(sql, async (tx) => {
        await tx`truncate faq`;
        await assertCoherent(tx, "garage-a", "garage-b");
        assert.deepEqual(((await documentOf(tx, "garage-a")) as { faq: unknown[] }).faq, []);
      });
    });

    await t.step("renaming a workshop, its settings and opening hours are read live", async () => {
      await rolledBack(sql, async (tx) => {
        await tx`update workshops set name = 'Garage Alpha', settings = '{"assistant": {"tone": "terse"}}',
                                      opening_hours = '{"sun": []}' where slug = 'garage-a'`;
        await assertCoherent(tx, "garage-a");
        await tx`update workshops set slug = 'garage-alpha' where slug = 'garage-a'`;
        await assertCoherent(tx, "garage-alpha");
        assert.equal(await documentOf(tx, "garage-a"), null);
      });
    });

    await t.step("a new workshop without services or FAQ has no cache row and gets the global FAQ", async () => {
      await rolledBack(sql, async (tx) => {
        const [{ id }] = await tx`insert into workshops (slug, name) values ('garage-new', 'New') returning id`;
        await assertCoherent(tx, "garage-new");
        const doc = (await documentOf(tx, "garage-new")) as { services: unknown[]; faq: { scope: string }[] };
        assert.deepEqual(doc.services, []);
        assert.deepEqual(doc.faq.map((e) => e.scope), ["global"]);
        assert.equal((await tx`select 1 from customer_context_cache where workshop_id = ${id}`).length, 0);
      });
    });

    await t.step("deleting a workshop removes its cache row, without a foreign key error", async () => {
      await rolledBack(sql, async (tx) => {
        const before = await advisoryLocks(tx);
        await tx`delete from workshops where slug = 'garage-b'`;
        assert.equal(await documentOf(tx, "garage-b"), null);
        assert.equal((await tx`select 1 from customer_context_cache where workshop_id = ${f.workshopB}`).length, 0);
        // The cascade fires the triggers for a workshop that is gone: nothing to render, nothing to lock.
        assert.equal(await advisoryLocks(tx), before);
        await assertCoherent(tx, "garage-a");
      });
    });

    await t.step("an admin editing through RLS as strata_app updates the cache it cannot read", async () => {
      const [priv] = await sql`
        select has_table_privilege('strata_app', 'customer_context_cache', 'SELECT, INSERT, UPDATE, DELETE') as cache,
               has_table_privilege('strata_app', 'customer_context_global', 'SELECT, INSERT, UPDATE, DELETE') as global`;
      assert.deepEqual(priv, { cache: false, global: false });
      await as(sql, "strata_app", f.alice, async (tx) => {
        const oil = await serviceId(tx, "Oil change");
        assert.equal((await tx`update customer_services set price = 89 where id = ${oil}`).count, 1);
        await tx`insert into customer_services (workshop_id, name, price) values (${f.workshopA}, 'Valeting', 30)`;
        await tx`update faq set answer = 'Two.' where question = 'Do you lend cars?'`;
        await tx`reset role`;
        await assertCoherent(tx, "garage-a", "garage-b");
        const doc = (await documentOf(tx, "garage-a")) as { services: { name: string; price: number }[] };
        assert.equal(doc.services.find((s) => s.name === "Oil change")?.price, 89);
      });
    });

    await t.step("strata_app, strata_worker and strata_readonly cannot read the cache tables", async () => {
      for (const role of ["strata_app", "strata_worker", "strata_readonly"] as const) {
        await as(sql, role, f.alice, async (tx) => {
          await assertDenied(tx, "select * from customer_context_cache");
          await assertDenied(tx, "select * from customer_context_global");
        });
      }
    });

    await t.step("strata_app reads the document through the function, anonymously", async () => {
      const doc = await as(sql, "strata_app", null, (tx) => documentOf(tx, "garage-a"));
      assert.deepEqual(doc, await fourQueries(sql, "garage-a"));
    });

    await t.step("two READ COMMITTED writers of one workshop: the later render sees the earlier commit", async () => {
      let waitedOn = "";
      await twoSessions(sql, async (first, second) => {
        const [{ pid }] = await second`select pg_backend_pid() as pid`;
        await first`begin isolation level read committed`;
        await first`update customer_services set price = 71 where name = 'Oil change'`;
        await second`begin isolation level read committed`;
        // Rendered now, its document would lack the uncommitted price, and
        // would replace the first one's at commit: it must wait.
        const secondUpdate = second`update customer_services set price = 141 where name = 'Brake pads'`.execute();
        waitedOn = await blockedOn(sql, pid);
        await first`commit`;
        await secondUpdate;
        await second`commit`;
      });
      const doc = (await documentOf(sql, "garage-a")) as { services: { name: string; price: number }[] };
      assert.deepEqual(doc.services.map((s) => [s.name, s.price]), [["Brake pads", 141], ["Oil change", 71]]);
      await assertCoherent(sql, "garage-a");
      assert.equal(waitedOn, "advisory", "it waited for the workshop's advisory lock");
    });

    await t.step("under REPEATABLE READ the later writer gets a serialization failure, not a stale cache", async () => {
      await twoSessions(sql, async (first, second) => {
        await second`begin isolation level repeatable read`;
        await second`select 1 from workshops limit 1`; // takes the snapshot
        await first`update customer_services set price = 72 where name = 'Oil change'`;
        const error = await second`update customer_services set price = 142 where name = 'Brake pads'`.then(
          () => null,
          (e: postgres.PostgresError) => e,
        );
        assert.equal(error?.code, "40001", `expected a serialization failure, got ${error?.message}`);
      });
      await assertCoherent(sql, "garage-a");
    });

    await t.step("a bulk statement over more workshops than the threshold takes one lock", async () => {
      await rolledBack(sql, async (tx) => {
        // Below the threshold: the bulk key shared, and one key per workshop.
        await tx`update customer_services set price = price + 1
                  where workshop_id in (${f.workshopA}, ${f.workshopB})`;
        assert.equal(await advisoryLocks(tx), 3);
        await assertCoherent(tx, "garage-a", "garage-b");

        await tx`insert into workshops (slug, name) select 'bulk-' || i, 'Bulk ' || i from generate_series(1, 1200) i`;
        await tx`insert into customer_services (workshop_id, name, price, active)
                 select w.id, 'Service ' || k, k * 10, k <> 2
                   from workshops w cross join generate_series(1, 3) k where w.slug like 'bulk-%'`;
        assert.equal(await advisoryLocks(tx), 4, "and the bulk key exclusive, for 1,200 workshops");
        await tx`insert into faq (workshop_id, question, answer, position)
                 select w.id, 'Bulk question', 'Bulk answer', 1 from workshops w where w.slug like 'bulk-%'`;
        assert.equal(await advisoryLocks(tx), 4);
        assert.deepEqual(await incoherentSlugs(tx), []);
        const [{ rows }] = await tx`select count(*)::int as rows from customer_context_cache`;
        assert.equal(rows, 1202);
        await assertCoherent(tx, "bulk-1", "bulk-1200");
      });
    });

    await t.step("every document still equals the source tables", async () => {
      assert.deepEqual(await incoherentSlugs(sql), []);
    });

    await t.step("the function returns json, and the cache is json", async () => {
      const [fn] = await sql`
        select prorettype::regtype::text as type from pg_proc where oid = 'get_customer_context(text)'::regprocedure`;
      assert.equal(fn.type, "json");
      const cols = await sql`
        select attrelid::regclass::text || '.' || attname as col from pg_attribute
         where attrelid in ('customer_context_cache'::regclass, 'customer_context_global'::regclass)
           and attname in ('services', 'faq') and atttypid = 'json'::regtype order by 1`;
      assert.deepEqual(cols.map((c) => c.col), [
        "customer_context_cache.faq",
        "customer_context_cache.services",
        "customer_context_global.faq",
      ]);
    });
  });
});

Deno.test("customer context cache across migrations", async (t) => {
  await withTestDatabase(async (db) => {
    const sql = db.sql;
    await migrate(db.url);
    await seed(sql);

    await t.step("migrating down past the cache leaves writes and the function working", async () => {
      const down = await runStrata(["down", "--to", BEFORE_CACHE, "--database-url", db.url]);
      assert.equal(down.code, 0, `${down.stdout}\n${down.stderr}`);
      const [tables] = await sql`select to_regclass('customer_context_cache') as cache`;
      assert.equal(tables.cache, null);
      await sql`update customer_services set price = 1 where name = 'Oil change'`;
      await sql`insert into faq (workshop_id, question, answer) values (null, 'After the down?', 'Yes.')`;
      await assertCoherent(sql, "garage-a", "garage-b");
    });

    await t.step("up again fills the cache from the data already there", async () => {
      await migrate(db.url);
      const [{ rows }] = await sql`select count(*)::int as rows from customer_context_cache`;
      assert.equal(rows, 2);
      assert.deepEqual(await incoherentSlugs(sql), []);
      await assertCoherent(sql, "garage-a", "garage-b");
    });
  });
});

Deno.test("customer context cache after seed --scale small", async () => {
  await withTestDatabase(async (db) => {
    await migrate(db.url);
    // The seed writes with the triggers off (session_replication_role = replica).
    const run = await runStrata([
      "seed",
      "--scale",
      "small",
      "--anchor",
      "2026-11-21T00:00:00Z",
      "--database-url",
      db.url,
    ]);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, /^\s+customer_context_cache\s+50\s/m);
    assert.deepEqual(await incoherentSlugs(db.sql), []);
    await assertCoherent(db.sql, "garage-1", "garage-50");
  });
});
