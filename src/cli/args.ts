import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.ts";

/** Flags every database command accepts. */
export const COMMON_FLAGS = {
  config: { type: "string" },
  "database-url": { type: "string" },
  json: { type: "boolean", default: false },
  wait: { type: "string" },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies ParseArgsConfig["options"];

/**
 * Strict flag parsing: an unknown flag or a missing value is a
 * {@linkcode UsageError} naming the flag, and `main.ts` prints the usage.
 */
export function parseFlags<const O extends NonNullable<ParseArgsConfig["options"]>>(
  args: string[],
  options: O,
) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError((error as Error).message.replace(/^TypeError \[\w+\]: /, ""));
  }
}

/** `--wait SECONDS` as milliseconds (0 when absent). */
export function waitMs(value: string | undefined): number {
  if (value === undefined) return 0;
  const seconds = Number(value);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new UsageError(`--wait expects a number of seconds, got ${JSON.stringify(value)}`);
  }
  return seconds * 1000;
}

/** A positive integer flag value, or a usage error naming the flag. */
export function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`${flag} expects a positive integer, got ${JSON.stringify(value)}`);
  }
  return n;
}
