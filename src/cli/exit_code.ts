/**
 * Exit codes of every Strata command. A contract: CI and later tools depend
 * on these numbers, and the README documents them.
 */
export const ExitCode = {
  Ok: 0,
  Internal: 1,
  Usage: 2,
  MigrationFailed: 3,
  ValidationFailed: 4,
  Findings: 5,
  LockNotAcquired: 6,
  Unreachable: 7,
} as const;

export type ExitCode = typeof ExitCode[keyof typeof ExitCode];
