import { existsSync } from "node:fs";
import { join } from "node:path";
import { run } from "./process.ts";

export const DBMATE_VERSION = "2.36.0";

/**
 * The native dbmate binary, installed from npm into `toolsDir` when missing.
 *
 * npm's `.bin/dbmate` is a Node.js shim that spawns this binary; timing the
 * shim would charge dbmate for a Node start-up (and report Node's RSS) that
 * users of the Go binary never pay, flattering Strata's ratio.
 */
export async function ensureDbmate(toolsDir: string): Promise<{ binary: string; version: string }> {
  const arch = Deno.build.arch === "aarch64" ? "arm64" : "x64";
  const binary = join(toolsDir, "node_modules", "@dbmate", `${Deno.build.os}-${arch}`, "bin", "dbmate");
  if (!existsSync(binary) || !(await versionOf(binary)).includes(DBMATE_VERSION)) {
    console.error(`installing dbmate@${DBMATE_VERSION} into ${toolsDir} ...`);
    await Deno.mkdir(toolsDir, { recursive: true });
    await run("npm", ["install", "--prefix", toolsDir, "--no-audit", "--no-fund", `dbmate@${DBMATE_VERSION}`]);
    if (!existsSync(binary)) throw new Error(`npm installed dbmate but ${binary} is missing`);
  }
  return { binary, version: (await versionOf(binary)).trim() };
}

async function versionOf(binary: string): Promise<string> {
  try {
    return await run(binary, ["--version"]);
  } catch {
    return "";
  }
}
