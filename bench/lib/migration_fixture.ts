import { join } from "node:path";

/** First version; 14 digits, like the timestamps both tools generate. */
const BASE_VERSION = 20260101000000n;

/**
 * One migration file readable by both Strata and dbmate: each tool takes the
 * other's section markers for plain comments.
 */
function migrationText(up: string, down: string): string {
  return `-- migrate:up\n-- strata:up\n${up}\n-- migrate:down\n-- strata:down\n${down}\n`;
}

/**
 * The i-th migration (0-based). The mix cycles through the statements a real
 * schema history is made of, each table getting one of each kind.
 */
function migration(i: number): { name: string; text: string } {
  const table = `bench_${String(Math.floor(i / 4) + 1).padStart(4, "0")}`;
  switch (i % 4) {
    case 0:
      return {
        name: `create_${table}`,
        text: migrationText(
          `create table ${table} (id bigint primary key, name text not null, created_at timestamptz not null default now());`,
          `drop table ${table};`,
        ),
      };
    case 1:
      return {
        name: `add_score_to_${table}`,
        text: migrationText(
          `alter table ${table} add column score integer not null default 0;`,
          `alter table ${table} drop column score;`,
        ),
      };
    case 2:
      return {
        name: `index_${table}_name`,
        text: migrationText(`create index ${table}_name_idx on ${table} (name);`, `drop index ${table}_name_idx;`),
      };
    default:
      return {
        name: `seed_${table}`,
        text: migrationText(
          `insert into ${table} (id, name, score) values (1, 'alpha', 10), (2, 'beta', 20), (3, 'gamma', 30);`,
          `delete from ${table} where id in (1, 2, 3);`,
        ),
      };
  }
}

/**
 * Writes `count` migrations to `dir`, replacing any `.sql` file there, so a
 * run never picks up leftovers from a run with another `--count`.
 */
export async function writeMigrations(dir: string, count: number): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.endsWith(".sql")) await Deno.remove(join(dir, entry.name));
  }
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const { name, text } = migration(i);
    const file = `${BASE_VERSION + BigInt(i + 1)}_${name}.sql`;
    await Deno.writeTextFile(join(dir, file), text);
    names.push(file);
  }
  return names;
}
