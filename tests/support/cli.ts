import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (where deno.json lives). */
export const REPO_ROOT = dirname(dirname(dirname(fileURLToPath(import.meta.url))));

/** What a CLI run produced. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Variables a developer's shell may carry that would point the CLI elsewhere. */
const SCRUBBED = /^(DATABASE_URL|MIGRATION_DATABASE_URL|TEST_DATABASE_URL|STRATA_.*)$/;

/**
 * Runs the Strata CLI (`src/main.ts`) as a real process, as a user would.
 * `cwd` defaults to the repository root; `env` is added to a copy of the
 * environment without database or STRATA_* variables.
 */
export async function runStrata(
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const env = Object.fromEntries(Object.entries(Deno.env.toObject()).filter(([k]) => !SCRUBBED.test(k)));
  const command = new Deno.Command(Deno.execPath(), {
    // The same V8 flags as the deno.json tasks: the CLI as shipped.
    args: [
      "run",
      "-A",
      "--quiet",
      "--v8-flags=--no-wasm-dynamic-tiering,--no-wasm-tier-up",
      "--config",
      `${REPO_ROOT}/deno.json`,
      `${REPO_ROOT}/src/main.ts`,
      ...args,
    ],
    cwd: options.cwd ?? REPO_ROOT,
    env: { ...env, NO_COLOR: "1", ...options.env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  });
  const { code, stdout, stderr } = await command.output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code, stdout: decode(stdout), stderr: decode(stderr) };
}
