/**
 * Durations in PostgreSQL's notation, shared by the configuration and the
 * SQL file directives, so `5s` means the same everywhere.
 *
 * @module
 */

/** A validated PostgreSQL duration, see {@linkcode parseDuration}. */
export interface Duration {
  /** The duration in milliseconds; 0 disables the timeout. */
  readonly milliseconds: number;
  /** A form PostgreSQL accepts, e.g. `"10s"`, `"5min"`, `"1500ms"`, `"0"`. */
  readonly text: string;
}

const UNIT_MILLISECONDS: Record<string, number> = {
  us: 0.001,
  ms: 1,
  s: 1000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

// Largest first, so normalising picks the most readable exact unit.
const NORMAL_UNITS = ["d", "h", "min", "s"] as const;

// lock_timeout and statement_timeout are int GUCs in milliseconds.
const MAX_MILLISECONDS = 2_147_483_647;

/**
 * Validates a duration for `lock_timeout` / `statement_timeout`: a number
 * with an optional unit among `us`, `ms`, `s`, `min`, `h`, `d` (units are
 * case-sensitive, as in PostgreSQL; no unit means milliseconds). `0`
 * disables the timeout.
 *
 * @throws {RangeError} naming what is wrong with the value.
 */
export function parseDuration(value: string): Duration {
  const match = /^(\d+(?:\.\d*)?|\.\d+)\s*([a-z]*)$/.exec(value.trim());
  if (match === null) {
    throw new RangeError(
      `invalid duration "${value}": expected a number with an optional unit (us, ms, s, min, h, d), e.g. 5s`,
    );
  }
  const unit = match[2] === "" ? "ms" : match[2];
  const factor = UNIT_MILLISECONDS[unit];
  if (factor === undefined) {
    throw new RangeError(
      `invalid duration "${value}": unknown unit "${unit}" (valid units: us, ms, s, min, h, d)`,
    );
  }
  const exact = Number(match[1]) * factor;
  const milliseconds = Math.round(exact);
  // PostgreSQL would silently round a fraction of a millisecond, and a
  // small non-zero value rounded to 0 would disable the timeout instead.
  if (Math.abs(exact - milliseconds) > 1e-6 * Math.max(1, exact)) {
    throw new RangeError(
      `invalid duration "${value}": must be a whole number of milliseconds`,
    );
  }
  if (milliseconds > MAX_MILLISECONDS) {
    throw new RangeError(
      `invalid duration "${value}": exceeds the maximum of ${MAX_MILLISECONDS}ms`,
    );
  }
  if (milliseconds === 0) return { milliseconds, text: "0" };
  const normal = NORMAL_UNITS.find((name) => milliseconds % UNIT_MILLISECONDS[name] === 0);
  return {
    milliseconds,
    text: normal === undefined ? `${milliseconds}ms` : `${milliseconds / UNIT_MILLISECONDS[normal]}${normal}`,
  };
}

/** Renders milliseconds as a value PostgreSQL accepts for timeout settings. */
export function toPgDuration(ms: number): string {
  return ms === 0 ? "0" : `${Math.round(ms)}ms`;
}
