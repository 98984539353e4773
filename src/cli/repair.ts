import { UsageError } from "../errors.ts";
import { migrationContext } from "./context.ts";

export const REPAIR_USAGE = `deno task migrate repair --yes [--config PATH] [--database-url URL] [--json]
  Accepts the migration files as they are: stores the current checksum of each modified applied migration
  and forgets applied migrations whose file is gone. Without --yes, lists what it would change (exit 2).`;

/** `repair --yes`: realign the history with the files. */
export async function repairCommand(args: string[]): Promise<number> {
  const { context, values } = await migrationContext(args, { yes: { type: "boolean", default: false } });
  const { migrator, out, session } = context;
  try {
    if (!values.yes) {
      const problems = (await migrator.problems()).filter((p) => p.kind !== "out-of-order");
      const list = problems.map((p) => `  ${p.kind}: ${p.file ?? `${p.version}_${p.name}`}`).join("\n");
      throw new UsageError(
        problems.length === 0
          ? "nothing to repair"
          : `repair would change the history of:\n${list}\nRun again with --yes to confirm.`,
      );
    }
    const result = await migrator.repair();
    out.data(result);
    for (const f of result.updated) out.line(`checksum updated: ${f}`);
    for (const f of result.forgotten) out.line(`forgotten (file missing): ${f}`);
    if (result.updated.length + result.forgotten.length === 0) out.line("nothing to repair");
    return 0;
  } finally {
    await session.close();
  }
}
