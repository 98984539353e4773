import { UsageError } from "../errors.ts";
import { positiveInt } from "./args.ts";
import { migrationContext } from "./context.ts";

export const DOWN_USAGE =
  `deno task migrate down [--steps N | --to VERSION] [--config PATH] [--database-url URL] [--json]
  Reverts the newest applied migrations: one by default, N with --steps, or every one newer than VERSION
  with --to (--to 0 reverts all). Repeatables are forgotten and re-applied by the next migrate.`;

/** `down`: revert migrations newest first. */
export async function downCommand(args: string[]): Promise<number> {
  const { context, values } = await migrationContext(args, {
    steps: { type: "string" },
    to: { type: "string" },
  });
  const { migrator, out, session } = context;
  try {
    if (values.steps !== undefined && values.to !== undefined) {
      throw new UsageError("--steps and --to cannot be combined");
    }
    const to = values.to as string | undefined;
    if (to !== undefined && !/^\d+$/.test(to)) {
      throw new UsageError(`--to expects a version (digits), got ${JSON.stringify(to)}`);
    }
    const run = await migrator.down({ steps: positiveInt("--steps", values.steps as string | undefined), to });
    out.data({
      results: run.results,
      error: run.error ? { message: run.error.message, exit_code: run.error.exitCode } : null,
    });
    if (run.error) throw run.error;
    if (run.results.length === 0) out.line("nothing to revert");
    return 0;
  } finally {
    await session.close();
  }
}
