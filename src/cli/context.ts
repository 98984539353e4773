import { loadConfig, type LoadedConfig } from "../config/load.ts";
import { checkDirectConnection } from "../db/pooler.ts";
import { Session } from "../db/session.ts";
import { describeUrl } from "../db/url.ts";
import { type MigrationEvent, Migrator } from "../migrate/runner.ts";
import { COMMON_FLAGS, parseFlags, waitMs } from "./args.ts";
import { consoleOutput, formatMs, type Output } from "./output.ts";
import { migrationTarget, type Target } from "./target.ts";
import type { ParseArgsConfig } from "node:util";

/** Parsed flag values; each command knows the types of its own flags. */
export type Flags = Readonly<Record<string, string | boolean | undefined>>;

/** What a migration command has once its flags, config and session are ready. */
export interface MigrationContext {
  readonly config: LoadedConfig;
  readonly target: Target;
  readonly session: Session;
  readonly migrator: Migrator;
  readonly out: Output;
}

/**
 * Parses flags (common ones plus `extra`), loads the configuration, connects
 * to the migration target, refuses a transaction pooler, and builds the
 * {@linkcode Migrator}. The caller must `session.close()`.
 */
export async function migrationContext(
  args: string[],
  extra: NonNullable<ParseArgsConfig["options"]>,
): Promise<{ context: MigrationContext; values: Flags; positionals: string[] }> {
  const parsed = parseFlags(args, { ...COMMON_FLAGS, ...extra });
  const values = parsed.values as Flags;
  const out = consoleOutput(Boolean(values.json));
  const config = await loadConfig({ path: values.config as string | undefined });
  const wait = waitMs(values.wait as string | undefined);
  const target = await migrationTarget(config, {
    flagUrl: values["database-url"] as string | undefined,
    log: (line) => out.line(line),
    waitMs: wait,
  });
  const session = await Session.open(target.url, { waitMs: wait, applicationName: "strata migrate" });
  try {
    const check = await checkDirectConnection(session, target.url);
    if (check.proxied && check.poolMode === null) {
      out.warn(
        `warning: ${describeUrl(target.url)} reaches a server listening on another port (a proxy?); ` +
          "migrations need a direct or session-pooled connection",
      );
    }
  } catch (error) {
    await session.close();
    throw error;
  }
  const m = config.migrations;
  const migrator = new Migrator(session, {
    root: config.root,
    migrationsDir: config.paths.migrations,
    repeatableDirs: [config.paths.functions, config.paths.policies],
    historySchema: m.history_schema,
    lockTimeoutMs: m.lock_timeout,
    statementTimeoutMs: m.statement_timeout,
    lockRetries: m.lock_retries,
    retryBaseDelayMs: m.retry_base_delay,
    retryMaxDelayMs: m.retry_max_delay,
    lockWaitMs: m.lock_wait,
    allowOutOfOrder: m.allow_out_of_order,
    onEvent: (event) => report(out, event),
  });
  const context: MigrationContext = { config, target, session, migrator, out };
  return { context, values, positionals: parsed.positionals };
}

function report(out: Output, event: MigrationEvent): void {
  switch (event.type) {
    case "lock-wait":
      out.line(`waiting for the migration lock${event.holder ? ` (held by backend pid ${event.holder})` : ""}...`);
      break;
    case "bookkeeping":
      out.line(`bookkeeping schema created/upgraded to version ${event.versions.at(-1)}`);
      break;
    case "retry":
      out.warn(
        `retry: ${event.file} attempt ${event.attempt} hit ${
          event.sqlstate ? `SQLSTATE ${event.sqlstate} ` : ""
        }(${event.message}); retrying in ${formatMs(event.delayMs)}`,
      );
      break;
    case "invalid-index-dropped":
      out.line(`dropped INVALID index ${event.index} left by an earlier failed build (before ${event.file})`);
      break;
    case "result": {
      const r = event.result;
      if (r.status === "failed") break;
      const verb = r.status === "reverted" ? "reverted" : "applied";
      const label = r.kind === "versioned" ? `${r.version} ${r.name}` : `${r.file} (repeatable)`;
      const retries = r.attempts > 1 ? `, ${r.attempts} attempts` : "";
      out.line(`${verb} ${label} (${formatMs(r.durationMs)}${retries})`);
      break;
    }
  }
}
