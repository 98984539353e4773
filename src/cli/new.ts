import { join } from "node:path";
import { loadConfig } from "../config/load.ts";
import { UsageError } from "../errors.ts";
import { parseFlags } from "./args.ts";
import { readVersioned } from "../migrate/source.ts";

export const NEW_USAGE = `deno task migrate new NAME [--no-transaction] [--ts] [--config PATH]
  Creates migrations/<UTC timestamp>_<name>.sql (or .ts) with up and down sections.`;

/** `new NAME`: scaffold a migration with a sortable version. */
export async function newCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    config: { type: "string" },
    "no-transaction": { type: "boolean", default: false },
    ts: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  if (positionals.length !== 1) {
    throw new UsageError("new expects exactly one NAME, e.g. `migrate new add_leads_status`");
  }
  const name = positionals[0].trim().toLowerCase().replace(/[^a-z0-9]+/g, "_").replace(/^_|_$/g, "");
  if (!name) throw new UsageError(`NAME ${JSON.stringify(positionals[0])} has no letters or digits`);
  const config = await loadConfig({ path: values.config });
  const dir = join(config.root, config.paths.migrations);
  await Deno.mkdir(dir, { recursive: true });
  const existing = await readVersioned(config.root, config.paths.migrations);
  // A timestamp keeps versions sortable across branches; bump past the newest to stay ordered.
  let version = BigInt(timestamp(new Date()));
  const newest = existing.at(-1);
  if (newest && BigInt(newest.version) >= version) version = BigInt(newest.version) + 1n;
  const ext = values.ts ? "ts" : "sql";
  const file = join(dir, `${version}_${name}.${ext}`);
  await Deno.writeTextFile(
    file,
    values.ts ? tsTemplate(values["no-transaction"]) : sqlTemplate(values["no-transaction"]),
    {
      createNew: true,
    },
  );
  console.log(file);
  return 0;
}

function timestamp(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

function sqlTemplate(noTransaction: boolean): string {
  const header = noTransaction
    ? "-- strata:no-transaction\n-- Runs statement by statement (for CREATE INDEX CONCURRENTLY and friends);\n-- keep every statement idempotent: a failure leaves earlier ones applied.\n"
    : "";
  return `${header}-- strata:lock-timeout 5s\n\n-- strata:up\n\n\n-- strata:down\n\n`;
}

function tsTemplate(noTransaction: boolean): string {
  return `import { type Kysely, sql } from "kysely";
${noTransaction ? "\nexport const transaction = false;\n" : ""}
// deno-lint-ignore no-explicit-any
export async function up(db: Kysely<any>): Promise<void> {
  await sql\`select 1\`.execute(db);
}

// deno-lint-ignore no-explicit-any
export async function down(db: Kysely<any>): Promise<void> {
  await sql\`select 1\`.execute(db);
}
`;
}
