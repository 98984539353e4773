import { LockNotAcquiredError } from "../errors.ts";
import type { Session } from "./session.ts";

/** Options of {@linkcode acquireAdvisoryLock}. */
export interface AdvisoryLockOptions {
  /** Give up after this many ms (exit 6). */
  readonly waitMs: number;
  /** Called once when the lock is busy, with the pid holding it (if visible). */
  readonly onWait?: (holder: number | null) => void;
}

/** Two int4 keys derived from a name, stable across processes and hosts. */
export function advisoryKeys(name: string): [number, number] {
  // FNV-1a, twice with different seeds: no crypto needed, only stability.
  const hash = (seed: number) => {
    let h = seed >>> 0;
    for (const byte of new TextEncoder().encode(name)) {
      h ^= byte;
      h = Math.imul(h, 0x01000193) >>> 0;
    }
    return h | 0;
  };
  return [hash(0x811c9dc5), hash(0x5f3759df)];
}

/**
 * Takes a session-level advisory lock by polling `pg_try_advisory_lock`.
 *
 * A blocking `pg_advisory_lock` would sit inside an open statement, and that
 * waiting transaction is one `CREATE INDEX CONCURRENTLY` in the lock holder
 * must wait for: PostgreSQL then aborts the build as a deadlock. Between
 * polls this session has no open transaction, so concurrent index builds
 * proceed.
 *
 * @returns a function releasing the lock
 */
export async function acquireAdvisoryLock(
  session: Session,
  name: string,
  options: AdvisoryLockOptions,
): Promise<() => Promise<void>> {
  const [k1, k2] = advisoryKeys(name);
  const deadline = Date.now() + options.waitMs;
  let delay = 25;
  let told = false;
  for (;;) {
    const [row] = await session.query<{ locked: boolean }>(
      "select pg_try_advisory_lock($1, $2) as locked",
      [k1, k2],
    );
    if (row.locked) {
      return async () => {
        await session.query("select pg_advisory_unlock($1, $2)", [k1, k2]);
      };
    }
    if (!told) {
      told = true;
      options.onWait?.(await holder(session, k1, k2));
    }
    if (Date.now() >= deadline) {
      const pid = await holder(session, k1, k2);
      throw new LockNotAcquiredError(
        `migration lock "${name}" not acquired within ${options.waitMs} ms` +
          (pid ? `: held by backend pid ${pid} (see pg_stat_activity)` : ""),
      );
    }
    const jitter = Math.random() * delay * 0.5;
    await new Promise((r) => setTimeout(r, Math.min(delay + jitter, Math.max(0, deadline - Date.now()))));
    delay = Math.min(delay * 2, 1000);
  }
}

async function holder(session: Session, k1: number, k2: number): Promise<number | null> {
  const [row] = await session.query<{ pid: number }>(
    `select pid from pg_locks
      where locktype = 'advisory' and granted and database = (select oid from pg_database where datname = current_database())
        and classid = ($1::int)::oid and objid = ($2::int)::oid and objsubid = 2`,
    [k1, k2],
  );
  return row?.pid ?? null;
}
