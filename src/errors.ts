import { ExitCode } from "./cli/exit_code.ts";

/**
 * An error that knows which documented exit code it maps to.
 *
 * Every failure Strata expects carries its exit code, so `main.ts` never has
 * to guess from a message.
 */
export class StrataError extends Error {
  readonly exitCode: ExitCode;
  constructor(exitCode: ExitCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** A bad flag, a missing argument or an invalid configuration (exit 2). */
export class UsageError extends StrataError {
  constructor(message: string, options?: ErrorOptions) {
    super(ExitCode.Usage, message, options);
  }
}

/** An invalid configuration file, environment variable or connection setting (exit 2). */
export class ConfigError extends StrataError {
  constructor(message: string, options?: ErrorOptions) {
    super(ExitCode.Usage, message, options);
  }
}

/** A migration could not be applied or reverted (exit 3). */
export class MigrationError extends StrataError {
  constructor(message: string, options?: ErrorOptions) {
    super(ExitCode.MigrationFailed, message, options);
  }
}

/** Applied history disagrees with the files, or drift (exit 4). */
export class ValidationError extends StrataError {
  constructor(message: string, options?: ErrorOptions) {
    super(ExitCode.ValidationFailed, message, options);
  }
}

/** The migration advisory lock was not acquired in time (exit 6). */
export class LockNotAcquiredError extends StrataError {
  constructor(message: string, options?: ErrorOptions) {
    super(ExitCode.LockNotAcquired, message, options);
  }
}

/** The database could not be reached or refused the login (exit 7). */
export class UnreachableError extends StrataError {
  constructor(message: string, options?: ErrorOptions) {
    super(ExitCode.Unreachable, message, options);
  }
}
