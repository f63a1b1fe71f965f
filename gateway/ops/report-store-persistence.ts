/**
 * The start log of a production gateway says what a restart of its store would cost, and warns
 * when that is more than nothing. The store holds what cannot be made again: the data key that
 * everything sealed opens with, the signing keys, the clients registered through the API or the
 * CLI, every session and refresh token. A Redis that keeps nothing on disk loses all of it on a
 * restart (every user signed out, every such client gone, new signing keys), and one with RDB
 * snapshots only loses every write since the last snapshot. The README's production section says
 * what to set (`appendonly yes`, `appendfsync everysec`) and what to do after such a loss.
 */
import type { Store } from '../../adapters/store.ts';

/** Where the report goes: the gateway's pino logger. */
export interface PersistenceLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** What each level costs, for the one log line. */
const CONSEQUENCE = {
  durable: 'the store keeps every write on disk: a restart of it costs nothing',
  snapshots:
    'the store keeps RDB snapshots only: a restart of it loses every write since the last snapshot ' +
    '(sign-ins, rotated refresh tokens: those users sign in again) and, before the first snapshot, the data key and signing keys; ' +
    'set appendonly yes with appendfsync everysec',
  none:
    'the store keeps NOTHING on disk: a restart of it signs every user out, forgets every client registered through the API or the CLI, ' +
    'and replaces the data key and signing keys; set appendonly yes with appendfsync everysec',
  unknown:
    'cannot tell whether the store keeps its data on disk: make sure it has an append-only file (appendonly yes, appendfsync everysec)',
} as const;

/** Reads the store's persistence and logs it: info when durable, a warning otherwise. */
export async function reportStorePersistence(store: Store, log: PersistenceLog): Promise<void> {
  try {
    const { level, detail } = await store.persistence();
    (level === 'durable' ? log.info : log.warn).call(
      log,
      { event: 'store_persistence', store: store.kind, persistence: level, detail },
      CONSEQUENCE[level],
    );
  } catch (error) {
    // Down at this moment: the start goes on (readiness says so); this report is advice only.
    log.warn(
      { event: 'store_persistence', store: store.kind, persistence: 'unknown', err: (error as Error).message },
      CONSEQUENCE.unknown,
    );
  }
}
