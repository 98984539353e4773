import { migrationContext } from "./context.ts";

export const STATUS_USAGE = `deno task migrate status [--config PATH] [--database-url URL] [--wait SECONDS] [--json]
  Lists every migration and repeatable (applied, pending, modified, missing) and every INVALID index.
  Exit 4 when an applied migration is modified or missing.`;

/** `status`: history against files, plus INVALID indexes. Changes nothing. */
export async function statusCommand(args: string[]): Promise<number> {
  const { context } = await migrationContext(args, {});
  const { migrator, out, session } = context;
  try {
    const report = await migrator.status();
    out.data({
      migrations: report.migrations.map(({ version, name, kind, status, file, applied_at }) => ({
        version,
        name,
        kind,
        status,
        file,
        applied_at,
      })),
      invalid_indexes: report.invalid_indexes,
    });
    const rows = report.migrations.map((m) => [
      m.kind === "versioned" ? m.version : "repeatable",
      m.kind === "versioned" ? m.name : m.version,
      m.status,
      m.applied_at ?? "",
    ]);
    out.line(table(["version", "name", "status", "applied at"], rows));
    if (report.invalid_indexes.length > 0) {
      out.line("\nINVALID indexes (failed concurrent builds; dropped before the migration that builds them re-runs):");
      for (const i of report.invalid_indexes) out.line(`  ${i.schema}.${i.name} on ${i.table}`);
    }
    const counts = new Map<string, number>();
    for (const m of report.migrations) counts.set(m.status, (counts.get(m.status) ?? 0) + 1);
    out.line(`\n${[...counts].map(([s, n]) => `${n} ${s}`).join(", ") || "no migrations"}`);
    return report.migrations.some((m) => m.kind === "versioned" && (m.status === "modified" || m.status === "missing"))
      ? 4
      : 0;
  } finally {
    await session.close();
  }
}

function table(head: string[], rows: string[][]): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [fmt(head), fmt(widths.map((w) => "-".repeat(w))), ...rows.map(fmt)].join("\n");
}
