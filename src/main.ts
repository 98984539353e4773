import { DB_USAGE, dbCommand } from "./cli/db.ts";
import { DOWN_USAGE, downCommand } from "./cli/down.ts";
import { ExitCode } from "./cli/exit_code.ts";
import { MIGRATE_USAGE, migrateCommand } from "./cli/migrate.ts";
import { NEW_USAGE, newCommand } from "./cli/new.ts";
import { PLAN_USAGE, planCommand } from "./cli/plan.ts";
import { REPAIR_USAGE, repairCommand } from "./cli/repair.ts";
import { SEED_USAGE, seedCommand } from "./cli/seed.ts";
import { STATUS_USAGE, statusCommand } from "./cli/status.ts";
import { StrataError, UsageError } from "./errors.ts";
import { isConnectionFailure } from "./db/sqlstate.ts";

type Command = { run: (args: string[]) => Promise<number>; usage: string };

/** `migrate` takes the migration commands as sub-commands; they also stand alone. */
const MIGRATE_SUBCOMMANDS: Record<string, Command> = {
  up: { run: migrateCommand, usage: MIGRATE_USAGE },
  status: { run: statusCommand, usage: STATUS_USAGE },
  down: { run: downCommand, usage: DOWN_USAGE },
  plan: { run: planCommand, usage: PLAN_USAGE },
  repair: { run: repairCommand, usage: REPAIR_USAGE },
  new: { run: newCommand, usage: NEW_USAGE },
};

const COMMANDS: Record<string, Command> = {
  ...MIGRATE_SUBCOMMANDS,
  db: { run: dbCommand, usage: DB_USAGE },
  seed: { run: seedCommand, usage: SEED_USAGE },
};

const USAGE = `strata: migrations, drift and jobs for PostgreSQL

${
  [
    MIGRATE_USAGE,
    ...Object.entries(MIGRATE_SUBCOMMANDS).filter(([k]) => k !== "up").map(([, c]) => c.usage),
    DB_USAGE,
    SEED_USAGE,
  ]
    .join("\n\n")
}

Exit codes: 0 ok, 1 internal error, 2 usage or configuration, 3 migration failed,
4 validation failed (checksum, missing migration), 5 lint/audit findings,
6 migration lock not acquired in time, 7 database unreachable.`;

function resolve(argv: string[]): { command: Command; args: string[] } {
  const [first, ...rest] = argv;
  if (first === "migrate") {
    const sub = rest[0] && !rest[0].startsWith("-") ? MIGRATE_SUBCOMMANDS[rest[0]] : undefined;
    if (rest[0] && !rest[0].startsWith("-") && !sub) {
      throw new UsageError(`unknown migrate sub-command ${JSON.stringify(rest[0])}`);
    }
    return sub ? { command: sub, args: rest.slice(1) } : { command: MIGRATE_SUBCOMMANDS.up, args: rest };
  }
  const command = first ? COMMANDS[first] : undefined;
  if (!command) throw new UsageError(first ? `unknown command ${JSON.stringify(first)}` : "no command given");
  return { command, args: rest };
}

async function main(argv: string[]): Promise<number> {
  let usage = USAGE;
  if (argv.length === 1 && (argv[0] === "--help" || argv[0] === "-h" || argv[0] === "help")) {
    console.log(USAGE);
    return ExitCode.Ok;
  }
  try {
    const { command, args } = resolve(argv);
    usage = command.usage;
    if (args.includes("--help") || args.includes("-h")) {
      console.log(usage);
      return ExitCode.Ok;
    }
    return await command.run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n\nusage: ${usage}`);
      return error.exitCode;
    }
    if (error instanceof StrataError) {
      console.error(`error: ${error.message}`);
      return error.exitCode;
    }
    if (isConnectionFailure(error)) {
      console.error(`error: lost the database connection: ${(error as Error).message}`);
      return ExitCode.Unreachable;
    }
    console.error("internal error (please report):", error);
    return ExitCode.Internal;
  }
}

Deno.exit(await main(Deno.args));
