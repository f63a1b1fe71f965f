/**
 * What a Redis server keeps on disk, read from its settings: the append-only file (`appendonly
 * yes`: every write logged, fsynced every second with `appendfsync everysec`), RDB snapshots
 * only (`save "3600 1 300 100 60 10000"`: a restart loses every write since the last one), or
 * nothing (`save ""` and no AOF: a restart loses everything, the store's data key and signing
 * keys included).
 *
 * `CONFIG GET` first; managed services often disable or rename CONFIG (ElastiCache, Memorystore)
 * or an ACL forbids it, so `INFO persistence` next, which tells whether AOF is on but not whether
 * snapshots are scheduled: without AOF, that reads as `unknown`. Never rejects for a hidden
 * setting, only when the server does not answer at all.
 */
import type { Persistence } from './store.ts';

/** Sends one command to one server. */
type Send = (args: string[]) => Promise<unknown>;

/** The value of a `CONFIG GET name` reply (RESP2 `[name, value]` or RESP3 `{name: value}`). */
async function configValue(send: Send, name: string): Promise<string | undefined> {
  const reply = await send(['CONFIG', 'GET', name]);
  if (Array.isArray(reply)) return reply.length >= 2 ? String(reply[1]) : undefined;
  if (reply && typeof reply === 'object')
    return (reply as Record<string, unknown>)[name] === undefined
      ? undefined
      : String((reply as Record<string, unknown>)[name]);
  return undefined;
}

/** One server's persistence, from CONFIG GET or, when refused, INFO persistence. */
export async function readRedisPersistence(send: Send): Promise<Persistence> {
  let appendonly: string | undefined;
  let save: string | undefined;
  let fsync: string | undefined;
  try {
    [appendonly, save, fsync] = await Promise.all([
      configValue(send, 'appendonly'),
      configValue(send, 'save'),
      configValue(send, 'appendfsync'),
    ]);
  } catch {
    // Refused (renamed, disabled, NOPERM) or down: INFO says whether it is the former.
  }
  if (appendonly === 'yes')
    return { level: 'durable', detail: `append-only file (appendonly yes, appendfsync ${fsync ?? '?'})` };
  if (appendonly === 'no') {
    return save !== undefined && save.trim() !== ''
      ? { level: 'snapshots', detail: `RDB snapshots only (appendonly no, save "${save}")` }
      : { level: 'none', detail: 'nothing on disk (appendonly no, save "")' };
  }
  const info = String(await send(['INFO', 'persistence']));
  if (/^aof_enabled:1\b/m.test(info))
    return { level: 'durable', detail: 'append-only file (aof_enabled:1 in INFO; CONFIG is not available)' };
  return {
    level: 'unknown',
    detail:
      'no append-only file (aof_enabled:0 in INFO); whether RDB snapshots are taken cannot be read, as CONFIG is not available',
  };
}

const ORDER: ReadonlyArray<Persistence['level']> = ['none', 'snapshots', 'unknown', 'durable'];

/** The weakest of several servers' persistence (a cluster loses what its weakest master loses). */
export function weakestPersistence(all: readonly Persistence[]): Persistence {
  const [first, ...rest] = all;
  if (!first) return { level: 'unknown', detail: 'no server answered' };
  return rest.reduce(
    (weakest, next) => (ORDER.indexOf(next.level) < ORDER.indexOf(weakest.level) ? next : weakest),
    first,
  );
}
