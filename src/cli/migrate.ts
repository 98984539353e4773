import { describeUrl } from "../db/url.ts";
import { migrationContext } from "./context.ts";
import { formatMs } from "./output.ts";

export const MIGRATE_USAGE =
  `deno task migrate [--target VERSION] [--config PATH] [--database-url URL] [--wait SECONDS] [--json]
  Applies pending migrations, then new or changed functions/ and policies/.`;

/** `migrate`: apply everything pending. */
export async function migrateCommand(args: string[]): Promise<number> {
  const started = performance.now();
  const { context, values } = await migrationContext(args, { target: { type: "string" } });
  const { migrator, out, target, session } = context;
  try {
    const run = await migrator.migrate({ target: values.target as string | undefined });
    const applied = run.results.filter((r) => r.status === "applied");
    const url = target.embedded ? target.url : describeUrl(target.url);
    out.data({
      database: url,
      results: run.results,
      error: run.error ? { message: run.error.message, exit_code: run.error.exitCode } : null,
    });
    if (run.error) throw run.error;
    const versioned = applied.filter((r) => r.kind === "versioned").length;
    const repeatables = applied.length - versioned;
    out.line(
      applied.length === 0
        ? `database is up to date: nothing to apply (${formatMs(performance.now() - started)})`
        : `${versioned} migration(s) and ${repeatables} repeatable(s) applied in ${
          formatMs(performance.now() - started)
        }`,
    );
    out.line(`database: ${url}`);
    return 0;
  } finally {
    await session.close();
  }
}
