/** The parts of a PostgreSQL URL that messages need. */
export interface UrlParts {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
}

/** Parses a `postgres://` URL (host, port, database, user) without validating it further. */
export function urlParts(url: string): UrlParts {
  const u = new URL(url);
  return {
    host: decodeURIComponent(u.hostname) || "localhost",
    port: Number(u.port || 5432),
    database: decodeURIComponent(u.pathname.replace(/^\//, "")) || decodeURIComponent(u.username),
    user: decodeURIComponent(u.username),
  };
}

/** The URL with its password masked, for logs and error messages. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

/** The same server, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}
