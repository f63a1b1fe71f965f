/**
 * The embedded default store: one SQLite file that survives a restart, through Node's built-in
 * `node:sqlite` (DatabaseSync). Not the sqlite3 / better-sqlite3 addons: npm compiles those under
 * the system Node 20, and better-sqlite3 then fails to load under the project's Node 24.
 * Node 24.21 prints no ExperimentalWarning for `node:sqlite`, so nothing here
 * touches process warnings.
 *
 * Every operation, plain or atomic, is ONE prepared statement on one table, not keyv over a keyv
 * adapter of our own: the table has an `expires_at` column, so expiry is enforced in the very
 * WHERE clause that reads or writes (keyv would hide its own `expires` inside the stored value,
 * and the atomic statements would then have to parse it); and a keyv layer would only add an
 * async hop in front of a synchronous call without giving a second backend to switch to.
 *
 * Why the atomics hold: DatabaseSync runs each statement synchronously, so in this process no
 * other JavaScript runs between its read and its write; across processes sharing the file, each
 * statement is its own transaction under SQLite's write lock. `setIfAbsent` is an
 * `INSERT ... ON CONFLICT DO UPDATE ... WHERE expired` (one row changed: this call won),
 * `deleteIfValue` a `DELETE ... WHERE value = ?`, and `addToSet` an upsert that appends to a JSON
 * array with the JSON1 functions and keeps the later expiry.
 *
 * Expired rows are ignored by every read and purged opportunistically (at open, then at most once
 * a minute on a write), so no timer keeps the process alive.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createLocalChannels } from './local-channels.ts';
import type { Store } from './store.ts';
import { asStoreError, StoreUnavailableError } from './store-errors.ts';
import { encodeValue, positiveTtl, setTtl } from './store-input.ts';

/** Options of {@link createSqliteStore}. */
export interface SqliteStoreOptions {
  /** Prepended to every key, so two gateways may share one file. Default `gateway:`. */
  prefix?: string;
}

/**
 * How long a statement waits for another process's write lock before failing with SQLITE_BUSY.
 * DatabaseSync waits synchronously (the event loop stalls meanwhile), so keep it short.
 */
const BUSY_TIMEOUT_MS = 1_000;
const PURGE_INTERVAL_MS = 60_000;

const SCHEMA = `
  CREATE TABLE IF NOT EXISTS entries (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,   -- JSON text
    expires_at INTEGER     -- epoch milliseconds; NULL: never
  ) WITHOUT ROWID;
  CREATE INDEX IF NOT EXISTS entries_expires_at ON entries (expires_at) WHERE expires_at IS NOT NULL;
`;

/** A row is live while it has no expiry or its expiry is still ahead. */
const LIVE = '(expires_at IS NULL OR expires_at > :now)';

/**
 * Opens (creating when missing, with its parent directory) the SQLite file at `path`.
 * Synchronous underneath: the file is open and the schema in place when this returns.
 */
export function createSqliteStore(path: string, options: SqliteStoreOptions = {}): Store {
  const prefix = options.prefix ?? 'gateway:';
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
  // WAL: readers never block the writer nor the writer readers, and a commit is one append.
  // synchronous=NORMAL is the documented safe pairing with WAL: the file never corrupts; a power
  // cut may lose the last commits (tokens issued in that instant), not the database.
  db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;');
  db.exec(SCHEMA);

  const statements = {
    get: db.prepare(`SELECT value FROM entries WHERE key = :key AND ${LIVE}`),
    set: db.prepare(`
      INSERT INTO entries (key, value, expires_at) VALUES (:key, :value, :expiresAt)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at`),
    delete: db.prepare('DELETE FROM entries WHERE key = :key'),
    // The DO UPDATE runs only over an expired row; over a live one nothing changes (0 changes).
    setIfAbsent: db.prepare(`
      INSERT INTO entries (key, value, expires_at) VALUES (:key, :value, :expiresAt)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
      WHERE entries.expires_at IS NOT NULL AND entries.expires_at <= :now`),
    // Written only beside a live owner row, expiring with it (or after :ttl when it never does);
    // one statement, so atomic as setIfAbsent is. `WHERE` before `ON CONFLICT` is what SQLite's
    // grammar needs to tell an upsert from a join.
    setIfAbsentWithOwner: db.prepare(`
      INSERT INTO entries (key, value, expires_at)
        SELECT :key, :value, coalesce(owner.expires_at, :now + :ttl) FROM entries AS owner
        WHERE owner.key = :owner AND (owner.expires_at IS NULL OR owner.expires_at > :now)
      ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at
      WHERE entries.expires_at IS NOT NULL AND entries.expires_at <= :now`),
    deleteIfValue: db.prepare(`DELETE FROM entries WHERE key = :key AND value = :value AND ${LIVE}`),
    // SET expressions all see the row as it was before this UPDATE. max() with a NULL argument is
    // NULL, so a set that never expires keeps never expiring; otherwise the later expiry wins.
    addToSet: db.prepare(`
      INSERT INTO entries (key, value, expires_at) VALUES (:key, json_array(:member), :expiresAt)
      ON CONFLICT (key) DO UPDATE SET
        value = CASE
          WHEN entries.expires_at IS NOT NULL AND entries.expires_at <= :now THEN excluded.value
          WHEN json_type(entries.value) IS NOT 'array' THEN excluded.value
          WHEN EXISTS (SELECT 1 FROM json_each(entries.value) AS m WHERE m.value = :member)
            THEN entries.value
          ELSE json_insert(entries.value, '$[#]', :member)
        END,
        expires_at = CASE
          WHEN entries.expires_at IS NOT NULL AND entries.expires_at <= :now THEN excluded.expires_at
          WHEN json_type(entries.value) IS NOT 'array' THEN excluded.expires_at
          ELSE max(entries.expires_at, excluded.expires_at)
        END`),
    // A live counter counts on and keeps its expiry; an expired (or absent) one starts again at 1.
    increment: db.prepare(`
      INSERT INTO entries (key, value, expires_at) VALUES (:key, '1', :expiresAt)
      ON CONFLICT (key) DO UPDATE SET
        value = CASE
          WHEN entries.expires_at IS NOT NULL AND entries.expires_at <= :now THEN '1'
          ELSE CAST(CAST(entries.value AS INTEGER) + 1 AS TEXT)
        END,
        expires_at = CASE
          WHEN entries.expires_at IS NOT NULL AND entries.expires_at <= :now THEN excluded.expires_at
          ELSE entries.expires_at
        END
      RETURNING value`),
    extendIfValue: db.prepare(
      `UPDATE entries SET expires_at = :expiresAt WHERE key = :key AND value = :value AND ${LIVE}`,
    ),
    purge: db.prepare('DELETE FROM entries WHERE expires_at IS NOT NULL AND expires_at <= :now'),
    ping: db.prepare('SELECT 1'),
  };

  let lastPurge = Date.now();
  statements.purge.run({ now: lastPurge });
  let closed = false;

  function assertOpen(): void {
    if (closed) throw new StoreUnavailableError('the SQLite store is closed');
  }

  /**
   * Runs statements; a failure (SQLITE_BUSY past the timeout, a full disk, an I/O error) becomes
   * StoreUnavailableError. Input is checked before, so a bad argument stays a TypeError.
   */
  function exec<T>(what: string, run: () => T): T {
    try {
      return run();
    } catch (error) {
      throw asStoreError(`SQLite ${what}`, error);
    }
  }

  /** Called on writes: cheap (indexed) and at most once per interval. */
  function purgeNowAndThen(now: number): void {
    if (now - lastPurge < PURGE_INTERVAL_MS) return;
    lastPurge = now;
    statements.purge.run({ now });
  }

  function readJson(key: string, now: number): unknown {
    const row = exec('get', () => statements.get.get({ key: prefix + key, now }));
    return row === undefined ? undefined : JSON.parse(row['value'] as string);
  }

  return {
    kind: 'sqlite',

    async get<T>(key: string): Promise<T | undefined> {
      assertOpen();
      return readJson(key, Date.now()) as T | undefined;
    },

    async getMany<T>(keys: readonly string[]): Promise<Array<T | undefined>> {
      assertOpen();
      const now = Date.now();
      return keys.map((key) => readJson(key, now) as T | undefined);
    },

    async set(key, value, ttlMs) {
      assertOpen();
      const json = encodeValue(value);
      const ttl = setTtl(ttlMs);
      const now = Date.now();
      exec('set', () => {
        if (ttl === 'delete') {
          statements.delete.run({ key: prefix + key });
        } else {
          statements.set.run({ key: prefix + key, value: json, expiresAt: ttl === undefined ? null : now + ttl });
        }
        purgeNowAndThen(now);
      });
    },

    async delete(key) {
      assertOpen();
      exec('delete', () => statements.delete.run({ key: prefix + key }));
    },

    async setIfAbsent(key, value, ttlMs) {
      assertOpen();
      const json = encodeValue(value);
      const ttl = positiveTtl(ttlMs, 'setIfAbsent');
      const now = Date.now();
      const { changes } = exec('setIfAbsent', () => {
        const result = statements.setIfAbsent.run({
          key: prefix + key,
          value: json,
          expiresAt: ttl === undefined ? null : now + ttl,
          now,
        });
        purgeNowAndThen(now);
        return result;
      });
      return Number(changes) === 1;
    },

    async setIfAbsentWithOwner(key, value, ownerKey, ttlMs) {
      assertOpen();
      const json = encodeValue(value);
      const ttl = positiveTtl(ttlMs, 'setIfAbsentWithOwner') as number;
      const now = Date.now();
      const { changes } = exec('setIfAbsentWithOwner', () => {
        const result = statements.setIfAbsentWithOwner.run({
          key: prefix + key,
          value: json,
          owner: prefix + ownerKey,
          ttl,
          now,
        });
        purgeNowAndThen(now);
        return result;
      });
      return Number(changes) === 1;
    },

    async deleteIfValue(key, expected) {
      assertOpen();
      const value = encodeValue(expected);
      const { changes } = exec('deleteIfValue', () =>
        statements.deleteIfValue.run({ key: prefix + key, value, now: Date.now() }),
      );
      return Number(changes) === 1;
    },

    async addToSet(key, member, ttlMs) {
      assertOpen();
      const ttl = positiveTtl(ttlMs, 'addToSet') as number;
      const now = Date.now();
      exec('addToSet', () => {
        statements.addToSet.run({ key: prefix + key, member, expiresAt: now + ttl, now });
        purgeNowAndThen(now);
      });
    },

    async increment(key, ttlMs) {
      assertOpen();
      const ttl = positiveTtl(ttlMs, 'increment') as number;
      const now = Date.now();
      const row = exec('increment', () => {
        const result = statements.increment.get({ key: prefix + key, expiresAt: now + ttl, now });
        purgeNowAndThen(now);
        return result;
      });
      return Number(row?.['value']);
    },

    async extendIfValue(key, expected, ttlMs) {
      assertOpen();
      const ttl = positiveTtl(ttlMs, 'extendIfValue') as number;
      const value = encodeValue(expected);
      const now = Date.now();
      const { changes } = exec('extendIfValue', () =>
        statements.extendIfValue.run({ key: prefix + key, value, expiresAt: now + ttl, now }),
      );
      return Number(changes) === 1;
    },

    async setMembers(key) {
      assertOpen();
      const members = readJson(key, Date.now());
      return Array.isArray(members) ? members.filter((m): m is string => typeof m === 'string') : [];
    },

    ...createLocalChannels(),

    async ping() {
      assertOpen();
      exec('ping', () => statements.ping.get());
    },

    async persistence() {
      assertOpen();
      // The WAL pairing above: every commit is on disk; only a power cut may lose the last ones.
      return path === ':memory:'
        ? { level: 'none', detail: 'an in-memory SQLite database' }
        : { level: 'durable', detail: 'a SQLite file (write-ahead log, synchronous=NORMAL)' };
    },

    async close() {
      if (closed) return;
      closed = true;
      db.close();
    },
  };
}
