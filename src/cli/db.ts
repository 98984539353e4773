import { loadConfig } from "../config/load.ts";
import { embeddedStatus, startEmbedded, stopEmbedded } from "../db/embedded.ts";
import { UsageError } from "../errors.ts";
import { parseFlags } from "./args.ts";
import { consoleOutput } from "./output.ts";

export const DB_USAGE = `deno task db start|stop|status|url [--config PATH] [--json]
  Manages the embedded PostgreSQL 18 (data in embedded.data_dir, port embedded.port).`;

/** `db start|stop|status|url`: the embedded server's lifecycle. */
export async function dbCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    config: { type: "string" },
    json: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  });
  const [action, ...rest] = positionals;
  if (rest.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(rest[0])}`);
  const out = consoleOutput(values.json);
  const config = await loadConfig({ path: values.config });
  switch (action) {
    case "start": {
      const server = await startEmbedded(config, { log: (l) => out.line(l) });
      out.data({ started: server.started, url: server.url, port: server.port, data_dir: server.dataDir });
      out.line(server.started ? `started on 127.0.0.1:${server.port}` : `already running on 127.0.0.1:${server.port}`);
      out.line(server.url);
      return 0;
    }
    case "stop": {
      const stopped = await stopEmbedded(config);
      out.data({ stopped });
      out.line(stopped ? "stopped" : "not running");
      return 0;
    }
    case "status": {
      const s = await embeddedStatus(config);
      out.data({
        initialised: s.initialised,
        running: s.running,
        pid: s.pid,
        port: s.port,
        data_dir: s.dataDir,
        url: s.url,
      });
      out.line(
        s.running
          ? `running (pid ${s.pid}) on 127.0.0.1:${s.port}, data in ${s.dataDir}`
          : s.initialised
          ? `stopped; data in ${s.dataDir}`
          : `not initialised; \`deno task migrate\` or \`deno task db start\` creates it in ${s.dataDir}`,
      );
      return 0;
    }
    case "url": {
      const s = await embeddedStatus(config);
      out.data({ url: s.url, running: s.running });
      out.line(s.url);
      return 0;
    }
    default:
      throw new UsageError(action ? `unknown db action ${JSON.stringify(action)}` : "db expects an action");
  }
}
