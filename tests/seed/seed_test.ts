/**
 * `seed --scale small` through the real command on freshly migrated
 * databases: the counts of the scale, the promised shape of the data, the
 * same rows for the same seed, other rows for another seed, and a refusal to
 * overwrite data without --reset.
 */
import assert from "node:assert/strict";
import { type CliResult, runStrata } from "../support/cli.ts";
import { withTestDatabase } from "../support/db.ts";
import { SCALES } from "../../src/seed/scales.ts";
import type postgres from "postgres";

const ANCHOR = "2026-11-21T00:00:00Z";

function seedCli(url: string, ...extra: string[]): Promise<CliResult> {
  return runStrata(["seed", "--scale", "small", "--anchor", ANCHOR, "--database-url", url, ...extra]);
}

interface Db {
  url: string;
  sql: postgres.Sql;
}

/** Two freshly migrated databases. */
async function withMigrated(fn: (first: Db, second: Db) => Promise<void>): Promise<void> {
  await withTestDatabase((a) =>
    withTestDatabase(async (b) => {
      for (const db of [a, b]) {
        const up = await runStrata(["migrate", "--database-url", db.url]);
        assert.equal(up.code, 0, `${up.stdout}\n${up.stderr}`);
      }
      await fn(a, b);
    })
  );
}

/** One md5 per table over all its rows in a stable order (ids and generated values included). */
async function fingerprint(sql: postgres.Sql): Promise<Record<string, string>> {
  const rows = await sql`
    select 'workshops' as t, md5(string_agg(w::text, '|' order by id)) as h from workshops w
    union all select 'users', md5(string_agg(u::text, '|' order by id)) from users u
    union all select 'workshop_members', md5(string_agg(m::text, '|' order by workshop_id, user_id))
      from (select workshop_id, user_id, role from workshop_members) m
    union all select 'customer_services', md5(string_agg(s::text, '|' order by id))
      from (select id, workshop_id, name, price, active from customer_services) s
    union all select 'faq', md5(string_agg(f::text, '|' order by id))
      from (select id, workshop_id, question, answer, position, active from faq) f
    union all select 'leads', md5(string_agg(l::text, '|' order by id))
      from (select id, workshop_id, status, contact, chat_history, created_at from leads) l
    union all select 'analytics_events', md5(string_agg(e::text, '|' order by id))
      from (select id, workshop_id, client_key, event_type, created_at from analytics_events) e
    union all select 'workshop_progress', md5(string_agg(p::text, '|' order by user_id, workshop_id, module_id))
      from workshop_progress p`;
  return Object.fromEntries(rows.map((r) => [r.t, r.h]));
}

Deno.test("seed --scale small", async (t) => {
  const small = SCALES.small;

  await withMigrated(async (first, second) => {
    let expected: Record<string, string> = {};

    await t.step("fills every table with the scale's counts and prints rows and time per table", async () => {
      const run = await seedCli(first.url);
      assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
      for (const table of ["workshops", "users", "leads", "analytics_events", "workshop_progress"]) {
        assert.match(run.stdout, new RegExp(`^\\s+${table}\\s+[\\d,]+\\s+[\\d.]+ m?s$`, "m"), `row for ${table}`);
      }
      const [c] = await first.sql`
        select (select count(*)::int from workshops) as workshops, (select count(*)::int from users) as users,
               (select count(*)::int from customer_services) as services, (select count(*)::int from leads) as leads,
               (select count(*)::int from analytics_events) as events,
               (select count(*)::int from workshop_progress) as progress,
               (select count(*)::int from workshop_members) as members`;
      assert.deepEqual(c, {
        workshops: small.workshops,
        users: small.users,
        services: small.services,
        leads: small.leads,
        events: small.events,
        progress: small.progressRows,
        members: small.users,
      });
      expected = await fingerprint(first.sql);
    });

    await t.step("has the promised shape: chat lengths, 13 months of events, valid references", async () => {
      const sql = first.sql;
      const [chat] = await sql`
        select avg(jsonb_array_length(chat_history))::float8 as avg,
               (count(*) filter (where jsonb_array_length(chat_history) > 50))::float8 / count(*) as over_cap,
               min(jsonb_array_length(chat_history)) filter (where jsonb_array_length(chat_history) > 50) as min_long,
               max(jsonb_array_length(chat_history)) as max_long
          from leads`;
      assert.ok(chat.avg > 10 && chat.avg < 14, `average messages ${chat.avg}`);
      assert.ok(chat.over_cap > 0.08 && chat.over_cap < 0.12, `share over the cap ${chat.over_cap}`);
      assert.ok(chat.min_long >= 60 && chat.max_long <= 120);
      const months = await sql`
        select tableoid::regclass::text as part, count(*)::int as n from analytics_events group by 1 order by 1`;
      assert.equal(months.length, 13, months.map((m) => m.part).join(", "));
      assert.ok(months.every((m) => m.part !== "analytics_events_default"), "the default partition stays empty");
      const [lb] = await sql`select count(*)::int as n from workshop_leaderboard`;
      assert.ok(lb.n > 0, "the leaderboard is refreshed");
      // The seed skips the foreign key triggers: every reference must hold anyway.
      const [orphans] = await sql`
        select (select count(*) from workshop_members m where not exists (select from workshops w where w.id = m.workshop_id)
                                                          or not exists (select from users u where u.id = m.user_id))
             + (select count(*) from customer_services s where not exists (select from workshops w where w.id = s.workshop_id))
             + (select count(*) from faq f where f.workshop_id is not null
                                              and not exists (select from workshops w where w.id = f.workshop_id))
             + (select count(*) from leads l where not exists (select from workshops w where w.id = l.workshop_id))
             + (select count(*) from analytics_events e where not exists (select from workshops w where w.id = e.workshop_id))
             + (select count(*) from workshop_progress p
                 where not exists (select from workshop_members m where m.workshop_id = p.workshop_id and m.user_id = p.user_id)
                    or not exists (select from modules m where m.id = p.module_id)) as n`;
      assert.equal(Number(orphans.n), 0);
    });

    await t.step("the same seed gives the same rows; another seed gives other rows", async () => {
      assert.equal((await seedCli(second.url)).code, 0);
      assert.deepEqual(await fingerprint(second.sql), expected);
      const other = await seedCli(second.url, "--seed", "2", "--reset");
      assert.equal(other.code, 0, other.stderr);
      const changed = await fingerprint(second.sql);
      for (const table of Object.keys(expected)) {
        assert.notEqual(changed[table], expected[table], `${table} differs with another seed`);
      }
    });

    await t.step("refuses to overwrite data without --reset", async () => {
      const [before] = await first.sql`select count(*)::int as n from leads`;
      const refused = await seedCli(first.url, "--seed", "3");
      assert.equal(refused.code, 2);
      assert.match(refused.stderr, /--reset/);
      assert.deepEqual(await fingerprint(first.sql), expected, "nothing changed");
      assert.equal((await first.sql`select count(*)::int as n from leads`)[0].n, before.n);
    });

    await t.step("rejects an unknown --scale", async () => {
      const bad = await runStrata(["seed", "--scale", "huge", "--database-url", first.url]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /--scale must be one of small, medium, large/);
    });
  });
});
