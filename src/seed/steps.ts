/**
 * The seed's tables, each generated on the server by INSERT ... SELECT over
 * generate_series, in chunks so progress can be shown.
 *
 * Determinism: every "random" value is a hash of the row number and the
 * seed (hashint8extended, stable across PostgreSQL versions), never
 * random(); ids are md5-derived uuids or identities restarted by the
 * truncate; times are offsets from a fixed anchor. The same seed and anchor
 * give the same rows.
 */
import { EVENT_MONTHS, GLOBAL_FAQ, LONG_CHAT_SHARE, MODULES, type Scale } from "./scales.ts";

/** Inputs shared by every step. */
export interface SeedParams {
  readonly seed: number;
  /** `now` of the data set: leads, events and progress lie before it. */
  readonly anchor: Date;
  readonly scale: Scale;
}

/** One table to fill: `rows` rows in chunks of `chunk`, the SQL of rows [from, to]. */
export interface Step {
  readonly table: string;
  readonly rows: number;
  readonly chunk: number;
  sql(from: number, to: number): string;
}

/** SQL for a uniform float in [0, 1) from a row expression and a salt. */
export function rnd(p: SeedParams, expr: string, salt: number): string {
  return `((hashint8extended((${expr})::bigint, ${p.seed * 1000 + salt}) & 2147483647)::float8 / 2147483648.0)`;
}

/** SQL for an integer in [0, n) from a row expression and a salt. */
export function pick(p: SeedParams, expr: string, salt: number, n: number | string): string {
  return `((hashint8extended((${expr})::bigint, ${p.seed * 1000 + salt}) & 2147483647) % (${n}))`;
}

/** The uuid of workshop number `expr` (1-based), shared by every table referring to it. */
export function workshopId(p: SeedParams, expr: string): string {
  return `md5('${p.seed}:w:' || (${expr}))::uuid`;
}

/** The uuid of user number `expr` (1-based). */
export function userId(p: SeedParams, expr: string): string {
  return `md5('${p.seed}:u:' || (${expr}))::uuid`;
}

function anchor(p: SeedParams): string {
  return `'${p.anchor.toISOString()}'::timestamptz`;
}

function textArray(values: string[]): string {
  return `array[${values.map((v) => `'${v.replaceAll("'", "''")}'`).join(", ")}]`;
}

const SERVICES = [
  "Oil change",
  "Brake pads",
  "Brake discs",
  "Tyre swap",
  "Wheel alignment",
  "Inspection",
  "Air conditioning",
  "Battery replacement",
  "Timing belt",
  "Clutch repair",
  "Exhaust repair",
  "Diagnostics",
  "Windscreen repair",
  "Suspension check",
  "Headlight adjustment",
  "Coolant flush",
  "Spark plugs",
  "Gearbox service",
  "Car wash",
  "Paint repair",
  "Dent removal",
  "Wiper blades",
  "Fuel filter",
  "Air filter",
  "Pre-purchase check",
];

const WORDS = [
  "brake",
  "brakes",
  "pads",
  "squeak",
  "noise",
  "engine",
  "oil",
  "leak",
  "tyre",
  "tyres",
  "puncture",
  "battery",
  "dead",
  "start",
  "clutch",
  "gearbox",
  "warning",
  "light",
  "dashboard",
  "appointment",
  "tomorrow",
  "monday",
  "price",
  "quote",
  "cost",
  "inspection",
  "service",
  "exhaust",
  "smoke",
  "steering",
  "vibration",
  "wheel",
  "alignment",
  "coolant",
  "overheating",
  "aircon",
  "cold",
  "window",
  "wiper",
  "headlight",
];

const EVENT_TYPES = [
  "chat.opened",
  "chat.message",
  "chat.closed",
  "lead.created",
  "page.viewed",
  "service.viewed",
  "booking.started",
  "booking.completed",
];

/** The steps of a seed run, in dependency order. */
export function seedSteps(p: SeedParams): Step[] {
  const s = p.scale;
  const W = s.workshops;
  const perUser = Math.floor(s.progressRows / s.users);
  if (perUser < 1 || perUser > MODULES / 4) {
    throw new Error(`progress rows per user must be between 1 and ${MODULES / 4}, got ${s.progressRows / s.users}`);
  }
  const words = textArray(WORDS);
  const word = (expr: string, salt: number) => `(${words})[1 + ${pick(p, expr, salt, WORDS.length)}]`;
  const monthsStart = `(date_trunc('month', ${anchor(p)} at time zone 'UTC') - interval '${
    EVENT_MONTHS - 1
  } months') at time zone 'UTC'`;

  return [
    {
      table: "workshops",
      rows: W,
      chunk: 10_000,
      sql: (from, to) => `
        insert into workshops (id, slug, name, settings, opening_hours, created_at, updated_at)
        select ${workshopId(p, "i")}, 'garage-' || i, 'Garage ' || i,
               jsonb_build_object(
                 'assistant', jsonb_build_object('tone', (array['friendly', 'formal', 'concise'])[1 + ${
        pick(p, "i", 1, 3)
      }]),
                 'plan', (array['free', 'pro', 'enterprise'])[1 + ${pick(p, "i", 2, 3)}],
                 'features', case when ${rnd(p, "i", 3)} < 0.5 then '["booking"]'::jsonb
                                  else '["booking", "quotes"]'::jsonb end),
               jsonb_build_object(
                 'mon', '[["08:00", "17:00"]]'::jsonb, 'tue', '[["08:00", "17:00"]]'::jsonb,
                 'wed', '[["08:00", "17:00"]]'::jsonb, 'thu', '[["08:00", "17:00"]]'::jsonb,
                 'fri', '[["08:00", "16:00"]]'::jsonb,
                 'sat', case when ${rnd(p, "i", 4)} < 0.4 then '[["09:00", "12:00"]]'::jsonb else '[]'::jsonb end),
               w.created_at, w.created_at
          from generate_series(${from}, ${to}) i
         cross join lateral (
           select ${anchor(p)} - interval '3 years' + ${rnd(p, "i", 5)} * interval '2 years' as created_at
         ) w`,
    },
    {
      table: "users",
      rows: s.users,
      chunk: 100_000,
      sql: (from, to) => `
        insert into users (id, email, display_name, created_at, updated_at)
        select ${userId(p, "i")}, 'user' || i || '@example.test', 'User ' || i, u.created_at, u.created_at
          from generate_series(${from}, ${to}) i
         cross join lateral (
           select ${anchor(p)} - interval '3 years' + ${rnd(p, "i", 11)} * interval '2 years' as created_at
         ) u`,
    },
    {
      // User i belongs to workshop 1 + (i - 1) % W: the first W users are
      // the owners, the next W the admins, the rest staff.
      table: "workshop_members",
      rows: s.users,
      chunk: 100_000,
      sql: (from, to) => `
        insert into workshop_members (workshop_id, user_id, role)
        select ${workshopId(p, `1 + (i - 1) % ${W}`)}, ${userId(p, "i")},
               (case when i <= ${W} then 'owner' when i <= ${2 * W} then 'admin' else 'staff' end)::workshop_role
          from generate_series(${from}, ${to}) i`,
    },
    {
      table: "customer_services",
      rows: s.services,
      chunk: 100_000,
      sql: (from, to) => `
        insert into customer_services (workshop_id, name, price, active)
        select ${workshopId(p, `1 + (i - 1) % ${W}`)},
               (${textArray(SERVICES)})[1 + ${pick(p, "i", 21, SERVICES.length)}] || ' ' || (1 + (i - 1) / ${W}),
               round((20 + ${rnd(p, "i", 22)} * 480)::numeric, 2),
               ${rnd(p, "i", 23)} < 0.85
          from generate_series(${from}, ${to}) i`,
    },
    {
      // The first GLOBAL_FAQ rows are global, then faqPerWorkshop per workshop.
      table: "faq",
      rows: GLOBAL_FAQ + W * s.faqPerWorkshop,
      chunk: 100_000,
      sql: (from, to) => `
        insert into faq (workshop_id, question, answer, position, active)
        select case when i <= ${GLOBAL_FAQ} then null
                    else ${workshopId(p, `1 + (i - ${GLOBAL_FAQ} - 1) % ${W}`)} end,
               'Question ' || i || ': ' || ${word("i", 31)} || ' ' || ${word("i", 32)} || '?',
               'Answer ' || i || ': ' || ${word("i", 33)} || ' ' || ${word("i", 34)} || ' ' || ${word("i", 35)} || '.',
               case when i <= ${GLOBAL_FAQ} then i else 1 + (i - ${GLOBAL_FAQ} - 1) / ${W} end,
               ${rnd(p, "i", 36)} < 0.9
          from generate_series(${from}, ${to}) i`,
    },
    {
      table: "modules",
      rows: MODULES,
      chunk: MODULES,
      sql: (from, to) => `
        insert into modules (slug, title, created_at)
        select 'module-' || i, 'Module ' || i, ${anchor(p)} - interval '2 years'
          from generate_series(${from}, ${to}) i`,
    },
    {
      // 10% of leads hold 60 to 120 messages (over the trim cap of 50), the
      // others 1 to 6: about 12 on average.
      table: "leads",
      rows: s.leads,
      chunk: 25_000,
      sql: (from, to) => `
        insert into leads (workshop_id, status, contact, chat_history, created_at, updated_at)
        select ${workshopId(p, `1 + ${pick(p, "i", 41, W)}`)},
               (array['new', 'contacted', 'qualified', 'won', 'lost'])[1 + ${pick(p, "i", 42, 5)}],
               jsonb_build_object('name', 'Customer ' || i, 'phone', '+1555' || lpad((i % 10000000)::text, 7, '0'),
                                  'email', 'customer' || i || '@example.test'),
               chat.history, l.created_at, l.created_at + (l.n * interval '1 minute')
          from generate_series(${from}, ${to}) i
         cross join lateral (
           select ${anchor(p)} - ${rnd(p, "i", 43)} * interval '395 days' as created_at,
                  case when ${rnd(p, "i", 44)} < ${LONG_CHAT_SHARE} then 60 + ${pick(p, "i", 45, 61)}
                       else 1 + ${pick(p, "i", 46, 6)} end as n
         ) l
         cross join lateral (
           select jsonb_agg(jsonb_build_object(
                    'role', case when k % 2 = 0 then 'user' else 'assistant' end,
                    'content', ${word("i * 1000 + k", 47)} || ' ' || ${word("i * 1000 + k", 48)} || ' '
                               || ${word("i * 1000 + k", 49)},
                    'at', to_char((l.created_at + k * interval '1 minute') at time zone 'UTC',
                                  'YYYY-MM-DD"T"HH24:MI:SS"Z"'))
                  order by k) as history
             from generate_series(0, l.n - 1) k
         ) chat`,
    },
    {
      // In time order (as events arrive), spread evenly from the first day
      // of the month EVENT_MONTHS - 1 months before the anchor to the anchor.
      table: "analytics_events",
      rows: s.events,
      chunk: 500_000,
      sql: (from, to) => `
        insert into analytics_events (workshop_id, client_key, event_type, payload, created_at)
        select ${workshopId(p, "1 + e.w")},
               'client-' || (1 + e.w) || '-' || ${pick(p, "i", 52, 200)},
               (${textArray(EVENT_TYPES)})[1 + ${pick(p, "i", 53, EVENT_TYPES.length)}],
               '{}'::jsonb,
               span.start + ((i - 1 + ${rnd(p, "i", 54)}) / ${s.events}) * (${anchor(p)} - span.start)
          from (select ${monthsStart} as start) span,
               generate_series(${from}, ${to}) i
         cross join lateral (select ${pick(p, "i", 51, W)} as w) e`,
    },
    {
      // Each user has progress on perUser distinct modules of their workshop.
      table: "workshop_progress",
      rows: s.users * perUser,
      chunk: 250_000,
      sql: (from, to) => `
        insert into workshop_progress (user_id, workshop_id, module_id, status, score, updated_at)
        select ${userId(p, "g.u")}, ${workshopId(p, `1 + (g.u - 1) % ${W}`)},
               1 + (g.u + g.k * 4) % ${MODULES},
               st.status, case when st.status = 'completed' then round((50 + ${rnd(p, "i", 62)} * 50)::numeric, 2) end,
               ${anchor(p)} - ${rnd(p, "i", 63)} * interval '60 days'
          from generate_series(${from}, ${to}) i
         cross join lateral (select 1 + (i - 1) / ${perUser} as u, (i - 1) % ${perUser} as k) g
         cross join lateral (
           select (case when ${rnd(p, "i", 61)} < 0.6 then 'completed'
                        when ${rnd(p, "i", 61)} < 0.9 then 'in_progress'
                        else 'not_started' end) as status
         ) st`,
    },
    {
      table: "blog_posts",
      rows: s.blogPosts,
      chunk: 10_000,
      sql: (from, to) => `
        insert into blog_posts (slug, title, excerpt, body, category, status, published_at)
        select 'post-' || i, 'Post ' || i, 'About ' || ${word("i", 71)},
               repeat(${word("i", 72)} || ' ', 50),
               (array['maintenance', 'news', 'guides', 'electric'])[1 + ${pick(p, "i", 73, 4)}],
               (case when ${rnd(p, "i", 74)} < 0.8 then 'published' else 'draft' end)::content_status,
               case when ${rnd(p, "i", 74)} < 0.8 then ${anchor(p)} - ${rnd(p, "i", 75)} * interval '3 years' end
          from generate_series(${from}, ${to}) i`,
    },
    {
      table: "projects",
      rows: s.projects,
      chunk: 10_000,
      sql: (from, to) => `
        insert into projects (slug, title, summary, body, status, published_at)
        select 'project-' || i, 'Project ' || i, 'Summary ' || i, repeat(${word("i", 81)} || ' ', 30),
               (case when ${rnd(p, "i", 82)} < 0.7 then 'published' else 'draft' end)::content_status,
               case when ${rnd(p, "i", 82)} < 0.7 then ${anchor(p)} - ${rnd(p, "i", 83)} * interval '3 years' end
          from generate_series(${from}, ${to}) i`,
    },
  ];
}

/** The tables a seed run empties first (CASCADE reaches the ones referring to them). */
export const SEEDED_TABLES = [
  "workshops",
  "users",
  "workshop_members",
  "customer_services",
  "faq",
  "modules",
  "leads",
  "chat_history_archive",
  "analytics_events",
  "workshop_progress",
  "blog_posts",
  "projects",
];

/** First day (UTC) of each month the events cover, oldest first. */
export function eventMonths(anchor: Date): Date[] {
  return Array.from(
    { length: EVENT_MONTHS },
    (_, i) => new Date(Date.UTC(anchor.getUTCFullYear(), anchor.getUTCMonth() - (EVENT_MONTHS - 1) + i, 1)),
  );
}
