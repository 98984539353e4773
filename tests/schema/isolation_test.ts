/**
 * Tenant isolation, case by case, against the real schema: as strata_app
 * with a member of workshop A (its owner, the most privileged member), B's
 * rows can be neither read nor written; with no user nothing is visible; the
 * partitions of analytics_events and the leaderboard view cannot be used to
 * get around the policies; and the worker can still do its jobs' work.
 * Every refusal is paired with a positive control so a case cannot pass just
 * because nothing was there.
 */
import assert from "node:assert/strict";
import { withTestDatabase } from "../support/db.ts";
import { affected, as, assertDenied, countOf, type Fixture, migrate, seed, type Sql } from "./fixtures.ts";

/** What a refused write looks like for one table and command. */
type Outcome = "denied" | "no rows";

interface TableCase {
  table: string;
  /** Predicate for workshop B's rows; $1 = workshop B. */
  bRows: string;
  /** Predicate for workshop A's rows, which Alice (A's owner) sees; $1 = workshop A. */
  aRows: string;
  /** An INSERT of a row belonging to B; $1 = workshop B, $2 = Alice, $3 = module 1. */
  insertB: string;
  /** SET clause for the UPDATE attempts. */
  set: string;
  update: Outcome;
  delete: Outcome;
  /** SET clause moving one of A's rows to B ($1 = workshop B), refused by WITH CHECK. */
  moveToB?: string;
}

const CASES: TableCase[] = [
  {
    table: "workshops",
    bRows: "id = $1::uuid",
    aRows: "id = $1::uuid",
    insertB: "insert into workshops (slug, name) values ('garage-x', 'Garage X')",
    set: "name = 'Taken over'",
    update: "no rows",
    delete: "no rows",
  },
  {
    table: "users",
    bRows: "id in (select user_id from workshop_members where workshop_id = $1::uuid)",
    aRows: "id in (select user_id from workshop_members where workshop_id = $1::uuid)",
    insertB: "insert into users (email, display_name) values ('mallory@b.test', 'Mallory')",
    set: "display_name = 'Taken over'",
    update: "no rows",
    delete: "denied",
  },
  {
    table: "workshop_members",
    bRows: "workshop_id = $1::uuid",
    aRows: "workshop_id = $1::uuid",
    insertB: "insert into workshop_members (workshop_id, user_id, role) values ($1::uuid, $2::uuid, 'owner')",
    // Not the role: demoting Alice within the transaction would change what
    // the later statements of a case are allowed.
    set: "created_at = now()",
    update: "no rows",
    delete: "no rows",
    moveToB: "workshop_id = $1::uuid",
  },
  {
    table: "customer_services",
    bRows: "workshop_id = $1::uuid",
    aRows: "workshop_id = $1::uuid",
    insertB: "insert into customer_services (workshop_id, name, price) values ($1::uuid, 'Fake', 1)",
    set: "price = 0",
    update: "no rows",
    delete: "no rows",
    moveToB: "workshop_id = $1::uuid",
  },
  {
    table: "faq",
    bRows: "workshop_id = $1::uuid",
    aRows: "workshop_id = $1::uuid",
    insertB: "insert into faq (workshop_id, question, answer) values ($1::uuid, 'Fake?', 'Fake.')",
    set: "answer = 'Taken over'",
    update: "no rows",
    delete: "no rows",
    moveToB: "workshop_id = $1::uuid",
  },
  {
    table: "leads",
    bRows: "workshop_id = $1::uuid",
    aRows: "workshop_id = $1::uuid",
    insertB: 'insert into leads (workshop_id, contact) values ($1::uuid, \'{"name": "Fake"}\')',
    set: "status = 'lost'",
    update: "no rows",
    delete: "no rows",
    moveToB: "workshop_id = $1::uuid",
  },
  {
    table: "chat_history_archive",
    bRows: "workshop_id = $1::uuid",
    aRows: "workshop_id = $1::uuid",
    insertB: "insert into chat_history_archive (lead_id, position, workshop_id, message) " +
      "select id, 1000, workshop_id, '{}' from leads where workshop_id = $1::uuid limit 1",
    set: "message = '{}'",
    update: "denied",
    delete: "denied",
  },
  {
    table: "analytics_events",
    bRows: "workshop_id = $1::uuid",
    aRows: "workshop_id = $1::uuid",
    insertB: "insert into analytics_events (workshop_id, client_key, event_type) values ($1::uuid, 'k', 'chat.opened')",
    set: "event_type = 'forged'",
    update: "denied",
    delete: "denied",
  },
  {
    table: "workshop_progress",
    bRows: "workshop_id = $1::uuid",
    aRows: "workshop_id = $1::uuid",
    insertB: "insert into workshop_progress (user_id, workshop_id, module_id, status) " +
      "values ($2::uuid, $1::uuid, $3::bigint, 'in_progress')",
    set: "score = 100",
    update: "no rows",
    delete: "no rows",
    moveToB: "workshop_id = $1::uuid",
  },
];

async function refusedWrite(
  sql: Sql,
  f: Fixture,
  outcome: Outcome,
  statement: string,
  params: unknown[],
): Promise<void> {
  await as(sql, "strata_app", f.alice, async (tx) => {
    if (outcome === "denied") {
      await assertDenied(tx, statement, params);
    } else {
      assert.equal(await affected(tx, statement, params), 0, `${statement} touched B's rows`);
    }
  });
  // The same statement really targets rows: the superuser (no RLS) touches them.
  await as(sql, null, null, async (tx) => {
    assert.ok(await affected(tx, statement, params) > 0, `control: ${statement} matched nothing at all`);
  });
}

Deno.test("tenant isolation as strata_app", async (t) => {
  await withTestDatabase(async (db) => {
    await migrate(db.url);
    const sql = db.sql;
    const f = await seed(sql);

    for (const c of CASES) {
      await t.step(`${c.table}: a member of A reads none of B's rows`, async () => {
        const query = `select * from ${c.table} where ${c.bRows}`;
        assert.ok(await countOf(sql, query, [f.workshopB]) > 0, "fixture: B has rows");
        const [theirs, ours] = await as(sql, "strata_app", f.alice, async (tx) => [
          await countOf(tx, query, [f.workshopB]),
          await countOf(tx, `select * from ${c.table} where ${c.aRows}`, [f.workshopA]),
        ]);
        assert.equal(theirs, 0);
        const control = await countOf(sql, `select * from ${c.table} where ${c.aRows}`, [f.workshopA]);
        assert.ok(control > 0, "fixture: A has rows");
        assert.equal(ours, control, "a member sees all of A's rows");
      });

      await t.step(`${c.table}: inserting a row of B is refused`, async () => {
        await as(sql, "strata_app", f.alice, (tx) => assertDenied(tx, c.insertB, insertParams(c, f)));
      });

      await t.step(
        `${c.table}: updating B's rows ${c.update === "denied" ? "is refused" : "affects 0 rows"}`,
        async () => {
          await refusedWrite(sql, f, c.update, `update ${c.table} set ${c.set} where ${c.bRows}`, [f.workshopB]);
        },
      );

      await t.step(
        `${c.table}: deleting B's rows ${c.delete === "denied" ? "is refused" : "affects 0 rows"}`,
        async () => {
          await refusedWrite(sql, f, c.delete, `delete from ${c.table} where ${c.bRows}`, [f.workshopB]);
        },
      );

      if (c.moveToB) {
        await t.step(`${c.table}: moving a row of A into B is refused (WITH CHECK)`, async () => {
          await as(sql, "strata_app", f.alice, async (tx) => {
            // Alice may update the row in place: the refusal is about the new workshop.
            const inPlace = `update ${c.table} set ${c.set} where ${c.aRows}`;
            assert.ok(await affected(tx, inPlace, [f.workshopA]) > 0, "control: A's row is updatable");
            const where = c.aRows.replaceAll("$1", "$2");
            await assertDenied(tx, `update ${c.table} set ${c.moveToB} where ${where}`, [f.workshopB, f.workshopA]);
          });
        });
      }

      await t.step(`${c.table}: with no user set nothing is visible`, async () => {
        assert.ok(await countOf(sql, `select * from ${c.table}`) > 0, "fixture: the table has rows");
        const visible = await as(sql, "strata_app", null, (tx) => countOf(tx, `select * from ${c.table}`));
        assert.equal(visible, 0);
      });
    }

    await t.step("faq: global entries are readable by members but not writable", async () => {
      await as(sql, "strata_app", f.alice, async (tx) => {
        assert.equal(await countOf(tx, "select * from faq where workshop_id is null"), 2);
        assert.equal(await affected(tx, "update faq set answer = 'x' where workshop_id is null"), 0);
        await assertDenied(tx, "insert into faq (workshop_id, question, answer) values (null, 'q', 'a')");
      });
    });

    await t.step("staff of A cannot write A's services (admins only)", async () => {
      await as(sql, "strata_app", f.carol, async (tx) => {
        assert.ok(await countOf(tx, "select * from customer_services") > 0, "staff reads them");
        await assertDenied(tx, "insert into customer_services (workshop_id, name, price) values ($1::uuid, 'x', 1)", [
          f.workshopA,
        ]);
        assert.equal(await affected(tx, "update customer_services set price = 0"), 0);
      });
    });

    await t.step("a malformed app.user_id is an error, not a match", async () => {
      await as(sql, "strata_app", "not-a-uuid", async (tx) => {
        const error = await tx.savepoint((sp) => sp`select * from leads`).then(() => null, (e) => e);
        assert.equal(error?.code, "22P02");
      });
    });

    const partitions = await sql<{ name: string }[]>`
      select c.relname as name
        from pg_partition_tree('analytics_events') t join pg_class c on c.oid = t.relid
       where t.level > 0 order by 1`;
    assert.ok(partitions.length >= 5, "the default partition and four months");

    for (const { name } of partitions) {
      await t.step(`analytics_events partition ${name}: direct reads and writes are refused`, async () => {
        for (const role of ["strata_app", "strata_worker", "strata_readonly"] as const) {
          await as(sql, role, f.alice, async (tx) => {
            await assertDenied(tx, `select * from ${name}`);
            await assertDenied(
              tx,
              `insert into ${name} (workshop_id, client_key, event_type) values ($1::uuid, 'k', 'x')`,
              [
                f.workshopB,
              ],
            );
            await assertDenied(tx, `delete from ${name}`);
          });
        }
        // Even the owning role sees nothing by naming the partition.
        const ownerSees = await as(sql, "strata_owner", null, (tx) => countOf(tx, `select * from ${name}`));
        assert.equal(ownerSees, 0);
      });
    }

    await t.step("analytics_events: through the parent a member sees exactly A's events", async () => {
      const expected = await countOf(sql, "select * from analytics_events where workshop_id = $1::uuid", [f.workshopA]);
      assert.ok(expected > 0);
      const seen = await as(sql, "strata_app", f.alice, (tx) => countOf(tx, "select * from analytics_events"));
      assert.equal(seen, expected);
    });

    await t.step("leaderboard: the materialized view cannot be read directly", async () => {
      assert.ok(await countOf(sql, "select * from workshop_leaderboard") > 0, "fixture: the view has rows");
      for (const role of ["strata_app", "strata_worker"] as const) {
        await as(sql, role, f.alice, (tx) => assertDenied(tx, "select * from workshop_leaderboard"));
      }
    });

    await t.step("leaderboard: the member view returns a member's workshop, ranked", async () => {
      const rows = await as(
        sql,
        "strata_app",
        f.alice,
        (tx) =>
          tx`select user_id, display_name, rank, completed_modules from workshop_leaderboard_member
              where workshop_id = ${f.workshopA} order by rank, user_id`,
      );
      assert.deepEqual(rows.map((r) => [r.display_name, r.rank, r.completed_modules]), [["Alice", 1, 2], [
        "Carol",
        2,
        1,
      ]]);
    });

    await t.step("leaderboard: the member view returns nothing of another workshop", async () => {
      assert.ok(
        await countOf(sql, "select * from workshop_leaderboard where workshop_id = $1::uuid", [f.workshopB]) > 0,
      );
      const rows = await as(
        sql,
        "strata_app",
        f.alice,
        (tx) => tx`select * from workshop_leaderboard_member where workshop_id = ${f.workshopB}`,
      );
      assert.equal(rows.length, 0);
      const all = await as(
        sql,
        "strata_app",
        f.alice,
        (tx) => tx`select distinct workshop_id from workshop_leaderboard_member`,
      );
      assert.deepEqual(all.map((r) => r.workshop_id), [f.workshopA], "unfiltered: only Alice's workshop");
    });

    await t.step("leaderboard: with no user set the member view returns nothing", async () => {
      const rows = await as(sql, "strata_app", null, (tx) => tx`select * from workshop_leaderboard_member`);
      assert.equal(rows.length, 0);
    });

    await t.step("leaderboard: the member view is not readable by the worker or reporting", async () => {
      for (const role of ["strata_worker", "strata_readonly"] as const) {
        await as(sql, role, f.alice, (tx) => assertDenied(tx, "select * from workshop_leaderboard_member"));
      }
    });

    await t.step("get_customer_context is not executable by reporting or the worker", async () => {
      for (const role of ["strata_readonly", "strata_worker"] as const) {
        await as(sql, role, null, (tx) => assertDenied(tx, "select get_customer_context('garage-a')"));
      }
    });

    await t.step("the application cannot run the worker's maintenance functions", async () => {
      await as(sql, "strata_app", f.alice, async (tx) => {
        await assertDenied(tx, "select ensure_monthly_partitions('analytics_events', 3)");
        await assertDenied(tx, "select create_monthly_partition('analytics_events', '2030-01-01')");
        await assertDenied(tx, "select detach_monthly_partition('analytics_events', now()::date, true)");
        await assertDenied(tx, "select refresh_workshop_leaderboard()");
        await assertDenied(tx, "select trim_chat_histories(50, 100)");
      });
    });

    // The worker's jobs, done as the worker.

    await t.step("worker: creates partitions ahead, protected like the others", async () => {
      const created = await as(sql, "strata_worker", null, async (tx) => {
        const rows = await tx`
          select partition_name::text as name, created from ensure_monthly_partitions('analytics_events', 6)`;
        const fresh = rows.filter((r) => r.created).map((r) => r.name as string);
        const state = await tx`
          select c.relname, c.relrowsecurity, c.relforcerowsecurity,
                 (select count(*)::int from pg_index i where i.indrelid = c.oid) as indexes
            from pg_class c where c.oid = any(${fresh}::regclass[])`;
        // Calling it again creates nothing.
        const [again] = await tx`
          select count(*) filter (where created)::int as n from ensure_monthly_partitions('analytics_events', 6)`;
        return { rows, fresh, state, again: again.n };
      });
      assert.equal(created.rows.length, 7, "this month and six ahead");
      assert.equal(created.fresh.length, 3, "months 4 to 6 did not exist yet");
      for (const p of created.state) {
        assert.ok(p.relrowsecurity && p.relforcerowsecurity, `${p.relname} has forced RLS`);
        assert.equal(p.indexes, 3, `${p.relname} has the primary key and both indexes`);
      }
      assert.equal(created.again, 0, "a second call creates nothing");
    });

    await t.step("worker: a partition it creates cannot be read directly by the app", async () => {
      await as(sql, "strata_worker", null, async (tx) => {
        const [{ name }] = await tx`
          select partition_name::text as name from create_monthly_partition('analytics_events', '2030-06-01')`;
        await tx.unsafe("reset role");
        await tx.unsafe("set local role strata_app");
        await tx`select set_config('app.user_id', ${f.alice}, true)`;
        await assertDenied(tx, `select * from ${name}`);
      });
    });

    await t.step("worker: a month's rows waiting in the default partition are moved into it", async () => {
      const result = await as(sql, "strata_worker", null, async (tx) => {
        const [row] = await tx`
          select partition_name::text as name, created, rows_moved::int as moved
            from create_monthly_partition('analytics_events', ${f.defaultMonth})`;
        await tx.unsafe("reset role");
        const [{ left }] = await tx`select count(*)::int as left from analytics_events_default`;
        const [{ inside }] = await tx.unsafe(`select count(*)::int as inside from ${row.name}`);
        return { ...row, left, inside };
      });
      assert.deepEqual(result, { name: "analytics_events_2031_01", created: true, moved: 1, left: 0, inside: 1 });
    });

    await t.step("worker: retention detaches a month (kept protected) or drops it", async () => {
      const result = await as(sql, "strata_worker", null, async (tx) => {
        // Each case rolls back, so the far month is created again here.
        await tx`select create_monthly_partition('analytics_events', ${f.defaultMonth})`;
        const [kept] = await tx`
          select detach_monthly_partition('analytics_events', ${f.defaultMonth}, false)::text as rel`;
        const [missing] = await tx`
          select detach_monthly_partition('analytics_events', '1999-01-01', true)::text as rel`;
        // The next month (seeded with events) is dropped outright.
        const [dropped] = await tx`
          select detach_monthly_partition('analytics_events', (now() + interval '1 month')::date, true)::text as rel`;
        await tx.unsafe("reset role");
        const [state] = await tx`
          select c.relispartition, c.relrowsecurity, c.relforcerowsecurity,
                 has_table_privilege('strata_app', c.oid, 'SELECT') as app_can_read,
                 to_regclass(${"analytics_events_" + nextMonth()}) is null as next_gone
            from pg_class c where c.oid = ${kept.rel}::regclass`;
        return { kept: kept.rel, missing: missing.rel, dropped: dropped.rel, ...state };
      });
      assert.deepEqual(result, {
        kept: "analytics_events_2031_01",
        missing: null,
        dropped: null,
        relispartition: false,
        relrowsecurity: true,
        relforcerowsecurity: true,
        app_can_read: false,
        next_gone: true,
      });
    });

    await t.step("worker: refreshes the leaderboard", async () => {
      const result = await as(sql, "strata_worker", null, async (tx) => {
        await tx.unsafe("reset role");
        await tx`update workshop_progress set status = 'completed', score = 88, updated_at = now() where user_id = ${f.dave}`;
        await tx.unsafe("set local role strata_worker");
        const [r] = await tx`select refreshed, row_count::int as rows from refresh_workshop_leaderboard()`;
        await tx.unsafe("reset role");
        const [{ n }] = await tx`select count(*)::int as n from workshop_leaderboard where user_id = ${f.dave}`;
        return { ...r, dave: n };
      });
      assert.deepEqual(result, { refreshed: true, rows: 4, dave: 1 });
    });

    await t.step("worker: trims chat histories into the archive without losing a message", async () => {
      const [{ before }] = await sql`select chat_history as before from leads where id = ${f.longLeadB}`;
      const result = await as(sql, "strata_worker", null, async (tx) => {
        const [r] =
          await tx`select leads_trimmed::int as leads, messages_archived::int as archived from trim_chat_histories(50, 100)`;
        const [again] = await tx`select leads_trimmed::int as leads from trim_chat_histories(50, 100)`;
        const [lead] = await tx`select chat_history, chat_history_offset from leads where id = ${f.longLeadB}`;
        const archived = await tx`
          select position, message from chat_history_archive where lead_id = ${f.longLeadB} order by position`;
        return { r, again, lead, archived };
      });
      assert.deepEqual(result.r, { leads: 1, archived: 10 });
      assert.equal(result.again.leads, 0, "nothing left over the cap");
      assert.equal(result.lead.chat_history.length, 50);
      assert.equal(result.lead.chat_history_offset, 10);
      assert.deepEqual(result.archived.map((a) => a.position), [...Array(10).keys()]);
      assert.deepEqual([...result.archived.map((a) => a.message), ...result.lead.chat_history], before);
    });

    await t.step("worker: cannot read tenant tables it has no job on", async () => {
      await as(sql, "strata_worker", null, async (tx) => {
        await assertDenied(tx, "select * from workshops");
        await assertDenied(tx, "select * from customer_services");
        await assertDenied(tx, "select * from workshop_progress");
        await assertDenied(tx, "delete from leads");
      });
    });
  });
});

function insertParams(c: TableCase, f: Fixture): unknown[] {
  const all = [f.workshopB, f.alice, f.module1];
  const highest = Math.max(0, ...[...c.insertB.matchAll(/\$(\d)/g)].map((m) => Number(m[1])));
  return all.slice(0, highest);
}

/** Next month in UTC as YYYY_MM, the suffix of its partition. */
function nextMonth(): string {
  const now = new Date();
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));
  return `${next.getUTCFullYear()}_${String(next.getUTCMonth() + 1).padStart(2, "0")}`;
}
