import { cpus, release, totalmem } from "node:os";
import { existsSync } from "node:fs";
import { run } from "./process.ts";

/** Where a result was measured; numbers from different machines are not comparable. */
export interface MachineInfo {
  readonly nproc: number;
  readonly cpu_model: string;
  readonly memory_gb: number;
  readonly os: string;
  readonly kernel: string;
  readonly deno: string;
}

export function machineInfo(): MachineInfo {
  const cpu = cpus();
  return {
    nproc: cpu.length,
    cpu_model: cpu[0]?.model?.trim() ?? "unknown",
    memory_gb: Math.round(totalmem() / 2 ** 30),
    os: `${Deno.build.os} ${Deno.build.arch}`,
    kernel: release(),
    deno: Deno.version.deno,
  };
}

/** A GitHub-flavoured Markdown table. */
export function markdownTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n");
}

/** A plain-text table for the terminal. */
export function textTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const README_HEADER = `# Benchmarks

Each benchmark is a sub-command of \`deno task bench\` and owns one section of
this file, between \`<!-- bench:NAME:start -->\` and \`<!-- bench:NAME:end -->\`.
A run rewrites only its own section (the text between the markers) and its own
\`bench/results/NAME.json\`; keep hand-written notes outside the markers.
Scratch files (generated migrations, installed tools) go to \`bench/work/\`,
which is not committed.
`;

/**
 * Replaces the section of benchmark `name` in the README (creating the file
 * or appending the section when absent), leaving other benchmarks' sections
 * alone.
 */
export async function updateReadmeSection(path: string, name: string, body: string): Promise<void> {
  const start = `<!-- bench:${name}:start -->`;
  const end = `<!-- bench:${name}:end -->`;
  const section = `${start}\n\n${body.trim()}\n\n${end}`;
  const text = existsSync(path) ? await Deno.readTextFile(path) : README_HEADER;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  const next = from >= 0 && to > from
    ? `${text.slice(0, from)}${section}${text.slice(to + end.length)}`
    : `${text.trimEnd()}\n\n${section}\n`;
  await Deno.writeTextFile(path, next);
  // deno fmt aligns tables and wraps prose; formatting here keeps `deno fmt --check` clean after every run.
  await run(Deno.execPath(), ["fmt", "--quiet", path]);
}
