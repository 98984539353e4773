/**
 * PostgreSQL error classification by SQLSTATE (never by message text).
 *
 * @see https://www.postgresql.org/docs/current/errcodes-appendix.html
 */
export const SqlState = {
  LockNotAvailable: "55P03",
  DeadlockDetected: "40P01",
  SerializationFailure: "40001",
  QueryCanceled: "57014",
  CannotConnectNow: "57P03",
  AdminShutdown: "57P01",
  InvalidCatalogName: "3D000",
  InvalidPassword: "28P01",
  InvalidAuthorization: "28000",
  UndefinedTable: "42P01",
  UndefinedObject: "42704",
  DuplicateDatabase: "42P04",
  DuplicateObject: "42710",
  UniqueViolation: "23505",
  ActiveSqlTransaction: "25001",
  FeatureNotSupported: "0A000",
} as const;

/** The SQLSTATE of a PostgreSQL error, or null for anything else. */
export function sqlState(error: unknown): string | null {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : null;
}

/** True for errors worth retrying after a backoff: lock timeouts and deadlocks. */
export function isLockContention(error: unknown): boolean {
  const state = sqlState(error);
  return state === SqlState.LockNotAvailable || state === SqlState.DeadlockDetected;
}

/**
 * True when the error means "could not talk to the server" rather than "the
 * server refused this statement": connection exceptions (class 08), login
 * failures (class 28), an unknown database, a server starting or shutting
 * down, and socket-level errors from the driver.
 */
export function isConnectionFailure(error: unknown): boolean {
  const state = sqlState(error);
  if (state) {
    return state.startsWith("08") || state.startsWith("28") ||
      state === SqlState.InvalidCatalogName || state === SqlState.CannotConnectNow ||
      state === SqlState.AdminShutdown;
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" &&
    /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ETIMEDOUT|CONNECT_TIMEOUT|CONNECTION_CLOSED|CONNECTION_ENDED|CONNECTION_DESTROYED)$/
      .test(code);
}

/** True when waiting may help: nothing listens yet, or the server is starting. */
export function isTransientConnectionFailure(error: unknown): boolean {
  const state = sqlState(error);
  if (state) return state === SqlState.CannotConnectNow || state.startsWith("08");
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^(ECONNREFUSED|ECONNRESET|CONNECT_TIMEOUT|EAI_AGAIN)$/.test(code);
}
