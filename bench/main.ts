import { MIGRATE_USAGE, migrateBench } from "./migrate.ts";
import { QUERIES_USAGE, queriesBenchmark } from "./queries.ts";

/** Each benchmark is a sub-command; add new ones here and give them a README section. */
const BENCHMARKS: Record<string, { run: (args: string[]) => Promise<number>; usage: string }> = {
  migrate: { run: migrateBench, usage: MIGRATE_USAGE },
  queries: { run: queriesBenchmark, usage: QUERIES_USAGE },
};

const USAGE = `usage: deno task bench <benchmark> [flags]

${Object.values(BENCHMARKS).map((b) => b.usage).join("\n\n")}`;

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === "--help" || name === "-h") {
    console.log(USAGE);
    return 0;
  }
  const bench = name === undefined ? undefined : BENCHMARKS[name];
  if (!bench) {
    console.error(
      `${name === undefined ? "no benchmark given" : `unknown benchmark ${JSON.stringify(name)}`}\n\n${USAGE}`,
    );
    return 2;
  }
  return await bench.run(rest);
}

Deno.exit(await main(Deno.args));
