import { z } from "zod";
import { parseDuration } from "./duration.ts";

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(String(value)).milliseconds;
  } catch (error) {
    ctx.addIssue({ code: "custom", message: (error as RangeError).message });
    return z.NEVER;
  }
});

const url = z.string().min(1).refine((v) => /^postgres(ql)?:\/\//.test(v), {
  message: "expected a postgres:// or postgresql:// URL",
}).nullable();

const count = (min: number) => z.coerce.number().int().min(min);

/**
 * The configuration schema. Every setting has a default, so an empty
 * `strata.yaml` (or none) is a valid configuration. Durations are held in
 * milliseconds after parsing.
 */
export const ConfigSchema = z.strictObject({
  /** Application connection; also the migration connection when `migration_database_url` is unset. */
  database_url: url.default(null),
  /** Direct (non-pooled) connection used by migrations. */
  migration_database_url: url.default(null),
  paths: z.strictObject({
    migrations: z.string().default("migrations"),
    functions: z.string().default("functions"),
    policies: z.string().default("policies"),
  }).prefault({}),
  migrations: z.strictObject({
    /** Schema holding Strata's own bookkeeping (history table). */
    history_schema: z.string().regex(/^[a-z_][a-z0-9_]*$/, "expected a lower-case SQL identifier").default("strata"),
    /** `lock_timeout` set for every migration unless its header says otherwise. */
    lock_timeout: duration.default(5000),
    /** `statement_timeout` set for every migration unless its header says otherwise (0 disables). */
    statement_timeout: duration.default(0),
    /** Attempts for a transactional migration that hits its lock timeout. */
    lock_retries: count(1).default(5),
    /** First backoff delay after a lock timeout; doubles per attempt, with jitter. */
    retry_base_delay: duration.default(250),
    /** Ceiling of the backoff delay. */
    retry_max_delay: duration.default(10_000),
    /** How long to wait for another runner's migration lock before exit 6. */
    lock_wait: duration.default(300_000),
    /** Allow pending migrations older than the newest applied one. */
    allow_out_of_order: z.stringbool().or(z.boolean()).default(false),
  }).prefault({}),
  embedded: z.strictObject({
    /** Data directory of the embedded server, relative to the project. */
    data_dir: z.string().default(".strata/pgdata"),
    /** Port of the embedded server on 127.0.0.1. */
    port: count(1).max(65535).default(54329),
    /** Database the embedded default migrates. */
    database: z.string().default("strata"),
    /** Superuser name and password of the embedded server. */
    user: z.string().default("postgres"),
    password: z.string().default("strata"),
  }).prefault({}),
});

/** The validated, frozen configuration every command receives. */
export type Config = z.output<typeof ConfigSchema>;
