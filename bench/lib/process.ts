import { existsSync } from "node:fs";

/** GNU time: its `%M` is the peak RSS, which Deno cannot report for a child process. */
export const GNU_TIME = "/usr/bin/time";

/** One timed run of a child process. */
export interface TimedRun {
  /** Wall-clock milliseconds from spawn to exit, as seen by this process. */
  readonly ms: number;
  /** Peak resident set size in KB of the largest process of the tree that was waited for. */
  readonly rssKb: number;
  /** User plus system CPU time of the tree, in ms: unlike wall time, barely moved by other load. */
  readonly cpuMs: number;
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Options of {@linkcode timedRun}. */
export interface TimedRunOptions {
  readonly cwd: string;
  /** The complete environment of the child (not merged with ours). */
  readonly env: Record<string, string>;
}

/** Fails early, with the fix, when GNU time is missing: without it there is no RSS figure. */
export function requireGnuTime(): void {
  if (!existsSync(GNU_TIME)) {
    throw new Error(`${GNU_TIME} (GNU time) is missing; install it with: apt-get install time`);
  }
}

/**
 * Runs `cmd` under GNU time and measures the wall clock around the whole
 * child, so process start-up and shutdown are part of the figure, as a user
 * experiences them.
 */
export async function timedRun(cmd: string, args: readonly string[], options: TimedRunOptions): Promise<TimedRun> {
  const rssFile = await Deno.makeTempFile({ prefix: "bench_rss_" });
  try {
    const command = new Deno.Command(GNU_TIME, {
      args: ["-f", "%M %U %S", "-o", rssFile, cmd, ...args],
      cwd: options.cwd,
      env: options.env,
      clearEnv: true,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    });
    const started = performance.now();
    const output = await command.output();
    const ms = performance.now() - started;
    // GNU time writes "Command exited with non-zero status N" before the figures on failure.
    const [rssKb, user, sys] = (await Deno.readTextFile(rssFile)).trim().split("\n").at(-1)!.split(" ").map(Number);
    const decoder = new TextDecoder();
    return {
      ms,
      rssKb,
      cpuMs: (user + sys) * 1000,
      code: output.code,
      stdout: decoder.decode(output.stdout),
      stderr: decoder.decode(output.stderr),
    };
  } finally {
    await Deno.remove(rssFile).catch(() => {});
  }
}

/** Runs a command to completion and returns its stdout; throws with its output when it fails. */
export async function run(
  cmd: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; clearEnv?: boolean } = {},
): Promise<string> {
  const output = await new Deno.Command(cmd, {
    args: [...args],
    cwd: options.cwd,
    env: options.env,
    clearEnv: options.clearEnv ?? false,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const stdout = decoder.decode(output.stdout);
  if (!output.success) {
    throw new Error(
      `${cmd} ${args.join(" ")} exited with ${output.code}\n${stdout}${decoder.decode(output.stderr)}`.trim(),
    );
  }
  return stdout;
}

/** The environment minus variables that would redirect the tools away from the database under test. */
export function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of Object.keys(env)) {
    if (name === "DATABASE_URL" || name === "MIGRATION_DATABASE_URL" || name.startsWith("STRATA_")) delete env[name];
    if (name.startsWith("DBMATE_")) delete env[name];
  }
  return { ...env, ...extra };
}

/** Keeps the end of a long output for an error message. */
export function tail(text: string, lines = 15): string {
  return text.trim().split("\n").slice(-lines).join("\n");
}
