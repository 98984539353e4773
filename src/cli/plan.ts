import { migrationContext } from "./context.ts";

export const PLAN_USAGE = `deno task migrate plan [--target VERSION] [--config PATH] [--database-url URL] [--json]
  Prints the exact SQL migrate would run now, changing nothing.`;

/** `plan`: the SQL `migrate` would send. */
export async function planCommand(args: string[]): Promise<number> {
  const { context, values } = await migrationContext(args, { target: { type: "string" } });
  const { migrator, out, session } = context;
  try {
    const plan = await migrator.plan({ target: values.target as string | undefined });
    out.data({ steps: plan.steps, error: plan.error ? plan.error.message : null });
    if (plan.error) throw plan.error;
    if (plan.steps.length === 0) out.line("-- nothing to apply");
    for (const step of plan.steps) out.line(`-- ${step.file}\n${step.sql}\n`);
    return 0;
  } finally {
    await session.close();
  }
}
