/**
 * Shared set-up of the schema tests: migrating a test database with the real
 * CLI, a small two-tenant data set, running statements as one of the
 * platform's roles inside a transaction that is always rolled back, and the
 * reference document of get_customer_context().
 */
import assert from "node:assert/strict";
import type postgres from "postgres";
import { runStrata } from "../support/cli.ts";

export type Sql = postgres.Sql;
export type Tx = postgres.TransactionSql;

/** Applies every migration, function and policy through `strata migrate`. */
export async function migrate(url: string): Promise<void> {
  const result = await runStrata(["migrate", "--database-url", url]);
  assert.equal(result.code, 0, `strata migrate failed (${result.code}):\n${result.stdout}\n${result.stderr}`);
}

/** The roles of the spec. */
export type Role = "strata_owner" | "strata_app" | "strata_worker" | "strata_readonly";

class Rollback extends Error {}

/**
 * Runs `fn` in a transaction as `role` with `app.user_id` set to `userId`
 * (left unset when null), then rolls everything back so each case starts from
 * the same data.
 */
export async function as<T>(
  sql: Sql,
  role: Role | null,
  userId: string | null,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  let result: T | undefined;
  let ran = false;
  try {
    await sql.begin(async (tx) => {
      if (role !== null) await tx.unsafe(`set local role ${role}`);
      if (userId !== null) await tx`select set_config('app.user_id', ${userId}, true)`;
      result = await fn(tx);
      ran = true;
      throw new Rollback();
    });
  } catch (error) {
    if (!(error instanceof Rollback)) throw error;
  }
  assert.ok(ran);
  return result as T;
}

/** The error a statement raises, inside a savepoint so the transaction survives. */
export async function errorOf(tx: Tx, query: string, params: unknown[] = []): Promise<postgres.PostgresError> {
  const error = await tx.savepoint((sp) => sp.unsafe(query, params as never[])).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(error, `expected an error from: ${query}`);
  return error as postgres.PostgresError;
}

/** Asserts the statement is refused for lack of privilege or by a policy (SQLSTATE 42501). */
export async function assertDenied(tx: Tx, query: string, params: unknown[] = []): Promise<void> {
  const error = await errorOf(tx, query, params);
  assert.equal(error.code, "42501", `expected SQLSTATE 42501 from ${query}, got ${error.code}: ${error.message}`);
}

/** Rows a statement affected (UPDATE/DELETE), run inside a savepoint. */
export async function affected(tx: Tx, query: string, params: unknown[] = []): Promise<number> {
  const result = await tx.savepoint((sp) => sp.unsafe(query, params as never[]));
  return result.count;
}

/** `select count(*)` of a query's rows. */
export async function countOf(tx: Tx | Sql, query: string, params: unknown[] = []): Promise<number> {
  const [row] = await tx.unsafe(`select count(*)::int as n from (${query}) q`, params as never[]);
  return row.n as number;
}

export interface Fixture {
  workshopA: string;
  workshopB: string;
  /** Owner of A. */
  alice: string;
  /** Staff of A. */
  carol: string;
  /** Owner of B. */
  bob: string;
  /** Staff of B. */
  dave: string;
  module1: string;
  module2: string;
  /** A lead of B whose chat history holds 60 messages (over the cap of 50). */
  longLeadB: string;
  /** A month with no partition yet whose event sits in the default partition. */
  defaultMonth: string;
}

/** Two workshops with members, content, leads, events and progress; as the superuser. */
export async function seed(sql: Sql): Promise<Fixture> {
  const workshops = await sql`
    insert into workshops (slug, name, settings, opening_hours) values
      ('garage-a', 'Garage A', '{"assistant": {"tone": "friendly"}, "features": ["booking"]}',
       '{"mon": [["08:00", "17:00"]], "sat": []}'),
      ('garage-b', 'Garage B', '{"assistant": {"tone": "formal"}}', '{"mon": [["09:00", "18:00"]]}')
    returning id, slug`;
  const a = workshops.find((w) => w.slug === "garage-a")!.id as string;
  const b = workshops.find((w) => w.slug === "garage-b")!.id as string;
  const users = await sql`
    insert into users (email, display_name) values
      ('alice@a.test', 'Alice'), ('carol@a.test', 'Carol'), ('bob@b.test', 'Bob'), ('dave@b.test', 'Dave')
    returning id, display_name`;
  const id = (name: string) => users.find((u) => u.display_name === name)!.id as string;
  const [alice, carol, bob, dave] = [id("Alice"), id("Carol"), id("Bob"), id("Dave")];
  await sql`
    insert into workshop_members (workshop_id, user_id, role) values
      (${a}, ${alice}, 'owner'), (${a}, ${carol}, 'staff'), (${b}, ${bob}, 'owner'), (${b}, ${dave}, 'staff')`;
  await sql`
    insert into customer_services (workshop_id, name, price, active) values
      (${a}, 'Oil change', 79.90, true), (${a}, 'Brake pads', 149.00, true), (${a}, 'Retired service', 10, false),
      (${b}, 'Tyre swap', 40.00, true), (${b}, 'Inspection', 99.00, true)`;
  await sql`
    insert into faq (workshop_id, question, answer, position, active) values
      (null, 'Do you take cards?', 'Yes.', 1, true),
      (null, 'Old global question', 'Gone.', 2, false),
      (${a}, 'Do you lend cars?', 'One courtesy car.', 1, true),
      (${a}, 'Hidden A question', 'Inactive.', 2, false),
      (${b}, 'Open on Sunday?', 'No.', 1, true)`;
  const chat = (n: number, who: string) =>
    JSON.stringify(
      Array.from({ length: n }, (_, i) => ({
        role: i % 2 ? "assistant" : "user",
        content: `${who} message ${i} about brakes`,
        at: new Date(Date.UTC(2026, 10, 1, 8, 0, i)).toISOString(),
      })),
    );
  await sql`
    insert into leads (workshop_id, status, contact, chat_history) values
      (${a}, 'new', '{"name": "Customer A1"}', ${chat(3, "a1")}::text::jsonb),
      (${a}, 'contacted', '{"name": "Customer A2"}', ${chat(2, "a2")}::text::jsonb),
      (${b}, 'new', '{"name": "Customer B1"}', ${chat(4, "b1")}::text::jsonb)`;
  const [{ id: longLeadB }] = await sql`
    insert into leads (workshop_id, status, contact, chat_history)
    values (${b}, 'qualified', '{"name": "Customer B2"}', ${chat(60, "b2")}::text::jsonb) returning id`;
  await sql`
    insert into chat_history_archive (lead_id, position, workshop_id, message, message_at)
    select id, 0, workshop_id, '{"role": "user", "content": "archived", "at": "2026-10-01T00:00:00Z"}', '2026-10-01T00:00:00Z'
      from leads where contact->>'name' in ('Customer A1', 'Customer B1')`;
  // Events in the current month (a partition from the first migration), in
  // the next one, and one in a far month only the default partition holds.
  const defaultMonth = "2031-01-01";
  await sql`
    insert into analytics_events (workshop_id, client_key, event_type, created_at)
    select w, 'client-' || left(w::text, 8), t, ts
      from unnest(array[${a}::uuid, ${b}::uuid]) w,
           unnest(array['chat.opened', 'lead.created']) t,
           unnest(array[now(), date_trunc('month', now()) + interval '1 month 2 days']) ts`;
  await sql`
    insert into analytics_events (workshop_id, client_key, event_type, created_at)
    values (${b}, 'client-late', 'chat.opened', ${defaultMonth}::timestamptz + interval '14 days')`;
  const modules =
    await sql`insert into modules (slug, title) values ('m1', 'Safety'), ('m2', 'Diagnostics') returning id`;
  const [module1, module2] = modules.map((m) => String(m.id));
  await sql`
    insert into workshop_progress (user_id, workshop_id, module_id, status, score, updated_at) values
      (${alice}, ${a}, ${module1}, 'completed', 90, now() - interval '1 day'),
      (${alice}, ${a}, ${module2}, 'completed', 70, now() - interval '2 days'),
      (${carol}, ${a}, ${module1}, 'completed', 95, now() - interval '3 days'),
      (${bob}, ${b}, ${module1}, 'completed', 60, now() - interval '1 day'),
      (${dave}, ${b}, ${module2}, 'in_progress', null, now())`;
  await sql`refresh materialized view workshop_leaderboard`;
  return {
    workshopA: a,
    workshopB: b,
    alice,
    carol,
    bob,
    dave,
    module1,
    module2,
    longLeadB: String(longLeadB),
    defaultMonth,
  };
}

/**
 * The four queries get_customer_context() replaces, assembled into the same
 * document: the reference it must equal. Runs on a client or inside a
 * transaction (then it sees that transaction's changes).
 */
export async function fourQueries(sql: postgres.ISql, slug: string): Promise<unknown> {
  const [workshop] = await sql`select id, slug, name, settings from workshops where slug = ${slug}`;
  if (!workshop) return null;
  const services = await sql`
    select id, name, description, price from customer_services
     where workshop_id = ${workshop.id} and active order by name, id`;
  const faq = await sql`
    select id, workshop_id, question, answer from faq
     where (workshop_id = ${workshop.id} or workshop_id is null) and active
     order by workshop_id nulls first, position, id`;
  const [{ opening_hours }] = await sql`select opening_hours from workshops where slug = ${slug}`;
  return {
    workshop: { id: workshop.id, slug: workshop.slug, name: workshop.name, settings: workshop.settings },
    // bigint and numeric arrive as strings from a query and as JSON numbers in the document.
    services: services.map((s) => ({
      id: Number(s.id),
      name: s.name,
      description: s.description,
      price: Number(s.price),
    })),
    faq: faq.map((f) => ({
      id: Number(f.id),
      scope: f.workshop_id === null ? "global" : "workshop",
      question: f.question,
      answer: f.answer,
    })),
    opening_hours,
  };
}
