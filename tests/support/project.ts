import { dirname, join } from "node:path";

/**
 * A throwaway project directory with the given files (paths relative to it),
 * e.g. `{ "migrations/1_a.sql": "..." }`. Removed by `cleanup()`.
 */
export async function tempProject(files: Record<string, string>): Promise<Project> {
  const root = await Deno.makeTempDir({ prefix: "strata_project_" });
  const project = new Project(root);
  for (const [path, text] of Object.entries(files)) await project.write(path, text);
  return project;
}

/** A directory laid out like a Strata project. */
export class Project {
  readonly root: string;
  constructor(root: string) {
    this.root = root;
  }
  async write(path: string, text: string): Promise<void> {
    await Deno.mkdir(dirname(join(this.root, path)), { recursive: true });
    await Deno.writeTextFile(join(this.root, path), text);
  }
  async remove(path: string): Promise<void> {
    await Deno.remove(join(this.root, path));
  }
  async [Symbol.asyncDispose](): Promise<void> {
    await Deno.remove(this.root, { recursive: true });
  }
}
