const UNIT_MS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

const DURATION = /^\s*(\d+(?:\.\d+)?)\s*(us|ms|s|min|h|d)?\s*$/;

/**
 * Parses a duration in PostgreSQL's own notation (`500ms`, `5s`, `2min`,
 * `1h`; a bare number is milliseconds, as for `lock_timeout`).
 *
 * @returns milliseconds, or `null` when the text is not a duration
 * @example parseDuration("5s") // 5000
 */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text);
  if (!match) return null;
  return Number(match[1]) * UNIT_MS[match[2] ?? "ms"];
}

/** Renders milliseconds as a value PostgreSQL accepts for timeout settings. */
export function toPgDuration(ms: number): string {
  return `${Math.round(ms)}ms`;
}
