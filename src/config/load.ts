import { isAbsolute, join, resolve } from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { ConfigError } from "../errors.ts";
import { type Config, ConfigSchema } from "./schema.ts";

/** A validated configuration plus where it came from. */
export interface LoadedConfig extends Config {
  /** Directory that relative paths are resolved against. */
  readonly root: string;
  /** The YAML file read, or null when none was found. */
  readonly file: string | null;
}

/** Options of {@linkcode loadConfig}. */
export interface LoadConfigOptions {
  /** `--config PATH`; must exist when given. Default: `strata.yaml` in `cwd`, if present. */
  readonly path?: string;
  /** Working directory. Default: `Deno.cwd()`. */
  readonly cwd?: string;
  /** Environment variables. Default: the process environment. */
  readonly env?: Record<string, string | undefined>;
  /** Highest-precedence values, such as `--database-url`. */
  readonly overrides?: { readonly database_url?: string };
}

/**
 * Loads `strata.yaml`, applies environment overrides and validates the
 * result. Precedence: overrides > environment > YAML > defaults.
 *
 * Environment variables: `DATABASE_URL`, `MIGRATION_DATABASE_URL`, and
 * `STRATA_<SECTION>_<KEY>` for nested settings (for example
 * `STRATA_MIGRATIONS_LOCK_TIMEOUT=10s`).
 *
 * @example
 * ```ts
 * const config = await loadConfig({ path: "ci/strata.yaml" });
 * config.migrations.lock_timeout; // milliseconds
 * ```
 */
export async function loadConfig(options: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const cwd = options.cwd ?? Deno.cwd();
  const env = options.env ?? Deno.env.toObject();
  const file = options.path ? resolve(cwd, options.path) : join(cwd, "strata.yaml");
  const raw = await readYaml(file, options.path !== undefined);
  const merged = raw ?? {};
  const fromEnv = applyEnv(merged, env);
  if (options.overrides?.database_url) merged.database_url = options.overrides.database_url;

  const parsed = ConfigSchema.safeParse(merged);
  if (!parsed.success) {
    throw new ConfigError(describeIssues(parsed.error, raw ? file : "the environment", fromEnv));
  }
  const root = options.path ? resolve(file, "..") : cwd;
  return deepFreeze({ ...parsed.data, root, file: raw ? file : null });
}

/** Resolves a configured path against the configuration's root. */
export function projectPath(config: LoadedConfig, path: string): string {
  return isAbsolute(path) ? path : join(config.root, path);
}

// deno-lint-ignore no-explicit-any
type Raw = Record<string, any>;

/** Returns null when the optional default file does not exist. */
async function readYaml(file: string, required: boolean): Promise<Raw | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound && !required) return null;
    throw new ConfigError(`cannot read configuration file ${file}: ${(error as Error).message}`);
  }
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const [first] = doc.errors;
    const [line, col] = first.linePos?.[0] ? [first.linePos[0].line, first.linePos[0].col] : [0, 0];
    throw new ConfigError(`invalid YAML in ${file}:${line}:${col}: ${first.message.split("\n")[0]}`);
  }
  const value = doc.toJS() ?? {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new ConfigError(`invalid configuration in ${file}: the top level must be a mapping`);
  }
  return value;
}

/** Copies environment overrides into `raw`; returns config path -> variable name. */
function applyEnv(raw: Raw, env: Record<string, string | undefined>): Map<string, string> {
  const used = new Map<string, string>();
  for (const [key, schema] of Object.entries(ConfigSchema.shape)) {
    if (schema instanceof z.ZodDefault && !(unwrap(schema) instanceof z.ZodObject)) {
      const name = key.toUpperCase();
      const value = env[name];
      if (value !== undefined && value !== "") {
        raw[key] = value;
        used.set(key, name);
      }
      continue;
    }
    for (const leaf of Object.keys((unwrap(schema) as z.ZodObject).shape)) {
      const name = `STRATA_${key}_${leaf}`.toUpperCase();
      const value = env[name];
      if (value === undefined || value === "") continue;
      raw[key] = { ...(raw[key] ?? {}), [leaf]: value };
      used.set(`${key}.${leaf}`, name);
    }
  }
  return used;
}

function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  while (current instanceof z.ZodDefault || current instanceof z.ZodPrefault) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}

function describeIssues(error: z.ZodError, source: string, fromEnv: Map<string, string>): string {
  const lines = error.issues.map((issue) => {
    const path = issue.path.join(".") || "(top level)";
    const origin = fromEnv.has(path) ? ` (from ${fromEnv.get(path)})` : "";
    return `  ${path}${origin}: ${issue.message}`;
  });
  return `invalid configuration in ${source}:\n${lines.join("\n")}`;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
