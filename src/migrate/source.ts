import { basename, join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import { checksum } from "./checksum.ts";
import { MigrationError, UsageError } from "../errors.ts";
import { type ParsedSqlFile, parseSqlFile } from "./sql_file.ts";
import type { Kysely } from "kysely";

/** A migration file name: `<digits>_<snake_name>.sql` or `.ts`. */
const VERSIONED = /^(\d+)_([a-z0-9_]+)\.(sql|ts)$/;

/** The module shape of a TypeScript migration. */
export interface TsMigrationModule {
  // deno-lint-ignore no-explicit-any
  up(db: Kysely<any>): Promise<void>;
  // deno-lint-ignore no-explicit-any
  down?(db: Kysely<any>): Promise<void>;
  /** `false` to run outside a transaction. Default: true. */
  readonly transaction?: boolean;
  /** Overrides of the configured timeouts, in PostgreSQL notation (`10s`). */
  readonly lockTimeout?: string;
  readonly statementTimeout?: string;
}

/** A migration or repeatable file, read and checksummed but parsed on demand. */
export interface SourceFile {
  readonly kind: "versioned" | "repeatable";
  /** Versioned: the digits of the file name. Repeatable: the path relative to the root. */
  readonly version: string;
  readonly name: string;
  /** Path relative to the project root, for messages. */
  readonly file: string;
  readonly path: string;
  readonly language: "sql" | "ts";
  readonly checksum: string;
  readonly text: string;
}

/** Lists `migrations/` in version order, checksummed. Duplicated versions are a usage error. */
export async function readVersioned(root: string, dir: string): Promise<SourceFile[]> {
  const names = await list(join(root, dir));
  const files: Promise<SourceFile>[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    if (name.startsWith(".") || name.endsWith(".md")) continue;
    const match = VERSIONED.exec(name);
    if (!match) {
      throw new UsageError(
        `migration file ${join(dir, name)} is not named <version>_<name>.sql or .ts (version: digits, name: a-z 0-9 _)`,
      );
    }
    const [, version, label, ext] = match;
    const key = BigInt(version).toString();
    if (seen.has(key)) {
      throw new UsageError(`migrations ${seen.get(key)} and ${join(dir, name)} have the same version ${version}`);
    }
    seen.set(key, join(dir, name));
    files.push(readSource(root, join(dir, name), "versioned", version, label, ext as "sql" | "ts"));
  }
  return (await Promise.all(files)).sort((a, b) => compareVersions(a.version, b.version));
}

/**
 * Lists the repeatables: every `.sql` file of each directory in `dirs`, in
 * that directory order and then by file name (so `functions/` before
 * `policies/`).
 */
export async function readRepeatables(root: string, dirs: readonly string[]): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  for (const dir of dirs) {
    for (const name of (await list(join(root, dir))).filter((n) => n.endsWith(".sql")).sort()) {
      const file = join(dir, name);
      files.push(await readSource(root, file, "repeatable", file, basename(name, ".sql"), "sql"));
    }
  }
  return files;
}

/** Numeric order of versions, so `9_x` sorts before `10_y`. */
export function compareVersions(a: string, b: string): number {
  const d = BigInt(a) - BigInt(b);
  return d < 0n ? -1 : d > 0n ? 1 : 0;
}

/** Parses an SQL source (versioned files have up/down sections; repeatables do not). */
export function parseSql(source: SourceFile): Promise<ParsedSqlFile> {
  return parseSqlFile(source.file, source.text, { sections: source.kind === "versioned" });
}

/** Imports a TypeScript migration and checks its shape. */
export async function importTs(source: SourceFile): Promise<TsMigrationModule> {
  let mod: Partial<TsMigrationModule>;
  try {
    mod = await import(pathToFileURL(source.path).href);
  } catch (error) {
    throw new MigrationError(`cannot load TypeScript migration ${source.file}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (typeof mod.up !== "function") {
    throw new MigrationError(`TypeScript migration ${source.file} does not export an up(db) function`);
  }
  if (mod.down !== undefined && typeof mod.down !== "function") {
    throw new MigrationError(`TypeScript migration ${source.file}: down must be a function`);
  }
  return mod as TsMigrationModule;
}

async function readSource(
  root: string,
  file: string,
  kind: SourceFile["kind"],
  version: string,
  name: string,
  language: SourceFile["language"],
): Promise<SourceFile> {
  const path = join(root, file);
  const bytes = await Deno.readFile(path);
  return {
    kind,
    version,
    name,
    file: relative(root, path),
    path,
    language,
    checksum: checksum(bytes),
    text: new TextDecoder().decode(bytes),
  };
}

async function list(dir: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of Deno.readDir(dir)) if (entry.isFile) names.push(entry.name);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
  return names.sort();
}
