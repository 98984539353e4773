import { freePort } from "./net.ts";
import { join } from "node:path";
import { urlParts } from "../../src/db/url.ts";

/** A PgBouncer in front of one database, for the duration of a test. */
export interface PgBouncer extends AsyncDisposable {
  /** URL of the database through PgBouncer. */
  readonly url: string;
}

/**
 * Starts Debian's PgBouncer (as the `postgres` user when root: it refuses to
 * run as root) on a free loopback port, forwarding to `targetUrl`'s database.
 */
export async function startPgBouncer(targetUrl: string, options: { poolMode: string }): Promise<PgBouncer> {
  const dir = await Deno.makeTempDir({ prefix: "strata_pgbouncer_" });
  const port = await freePort();
  const target = new URL(targetUrl);
  const { host, port: serverPort, database, user } = urlParts(targetUrl);
  const password = decodeURIComponent(target.password);
  await Deno.writeTextFile(join(dir, "users.txt"), `"${user}" ""\n`);
  await Deno.writeTextFile(
    join(dir, "pgbouncer.ini"),
    `[databases]
${database} = host=${host} port=${serverPort} dbname=${database} user=${user}${password ? ` password=${password}` : ""}
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = ${port}
unix_socket_dir =
auth_type = trust
auth_file = ${join(dir, "users.txt")}
admin_users = ${user}
pool_mode = ${options.poolMode}
pidfile = ${join(dir, "pgbouncer.pid")}
logfile = ${join(dir, "pgbouncer.log")}
`,
  );
  const asRoot = Deno.uid() === 0;
  if (asRoot) {
    await Deno.chmod(dir, 0o755);
    await new Deno.Command("chown", { args: ["-R", "postgres", dir] }).output();
  }
  const [cmd, ...args] = asRoot
    ? ["runuser", "-u", "postgres", "--", "pgbouncer", "-d", join(dir, "pgbouncer.ini")]
    : ["pgbouncer", "-d", join(dir, "pgbouncer.ini")];
  const started = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!started.success) {
    throw new Error(`cannot start pgbouncer: ${new TextDecoder().decode(started.stderr)}`);
  }
  await waitForPort(port);
  return {
    url: `postgres://${encodeURIComponent(user)}@127.0.0.1:${port}/${database}`,
    async [Symbol.asyncDispose]() {
      const pid = Number((await Deno.readTextFile(join(dir, "pgbouncer.pid"))).trim());
      try {
        Deno.kill(pid, "SIGTERM");
      } catch {
        // already gone
      }
      await Deno.remove(dir, { recursive: true });
    },
  };
}

async function waitForPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
