/**
 * The store contract: everything the gateway keeps (oidc-provider artefacts, accounts, upstream
 * tokens, keys, secrets, locks) goes through this interface, so every backend is held to the same
 * behaviour by one shared test suite (tests/store-contract.test.ts).
 *
 * Plain key/value goes through keyv; the few operations keyv cannot do atomically (set-if-absent,
 * compare-and-delete, sets) are implemented per backend on the underlying client, because a
 * read-then-write on keyv lets parallel requests both win (measured: 5 parallel redemptions of
 * one code all got tokens).
 */

/** What survives a restart of the backend itself (not of the gateway). */
export interface Persistence {
  /**
   * `durable`: every write is on disk (Redis AOF, SQLite); `snapshots`: a restart loses the
   * writes since the last snapshot (Redis RDB only); `none`: a restart loses everything;
   * `unknown`: the backend would not say (a managed Redis with CONFIG disabled).
   */
  level: 'durable' | 'snapshots' | 'none' | 'unknown';
  /** What was found, for the operator (settings, never a URL or password). */
  detail: string;
}
export interface Store {
  /** Which backend this is, for logs and `/readyz`. */
  readonly kind: 'memory' | 'sqlite' | 'redis' | 'redis-cluster';
  /** A JSON value (a fresh copy), or undefined when absent or expired. */
  get<T = unknown>(key: string): Promise<T | undefined>;
  /**
   * Several values at once, in the order of `keys` (undefined for each one absent or expired), in
   * one round trip where the backend can (on a cluster: one per hash slot, in parallel). The reads
   * are not one snapshot: each is as {@link get} alone would be.
   */
  getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>>;
  /**
   * Writes a JSON value (TypeError for what JSON cannot encode, such as undefined). `ttlMs`
   * undefined means no expiry; `ttlMs <= 0` deletes the key.
   */
  set(key: string, value: unknown, ttlMs?: number): Promise<void>;
  delete(key: string): Promise<void>;
  /**
   * Atomically writes `value` only when `key` is absent (or expired); true when this call wrote
   * it, so of N parallel callers exactly one gets true. `ttlMs` undefined: no expiry; otherwise
   * it must be > 0 (RangeError).
   */
  setIfAbsent(key: string, value: unknown, ttlMs?: number): Promise<boolean>;
  /**
   * Writes `value` at `key` only when `key` is absent (as {@link setIfAbsent}: of N parallel
   * callers exactly one gets true) AND `ownerKey` holds a value; `key` then expires when
   * `ownerKey` does, or after `ttlMs` (> 0) when `ownerKey` never expires. A consumption marker
   * is written this way, never outliving its record. One round trip, and atomic as a whole on one
   * server; on a Redis Cluster whose two keys hash to different slots the owner is read first and
   * the write follows (the write itself stays atomic).
   */
  setIfAbsentWithOwner(key: string, value: unknown, ownerKey: string, ttlMs: number): Promise<boolean>;
  /**
   * Atomically deletes `key` only while it still holds `expected`; true when deleted. Values are
   * compared by their JSON encoding, so objects need the same key order; compare strings (a
   * lock's random token, an index's id).
   */
  deleteIfValue(key: string, expected: unknown): Promise<boolean>;
  /**
   * Atomically adds a member to the set at `key` and extends the set's expiry to at least `ttlMs`
   * (> 0); it never shortens it. A key holds either a value or a set, never both.
   */
  addToSet(key: string, member: string, ttlMs: number): Promise<void>;
  /** The set's members (empty when absent). */
  setMembers(key: string): Promise<string[]>;
  /**
   * Atomically adds 1 to the counter at `key` and returns the new count; an absent or expired
   * counter starts at 1 and lives `ttlMs` (> 0) from then on, which later increments never extend
   * (a fixed window). Of N parallel callers, each sees a different count.
   */
  increment(key: string, ttlMs: number): Promise<number>;
  /**
   * Atomically sets `key`'s expiry to `ttlMs` (> 0) from now, only while it still holds
   * `expected` (compared as {@link deleteIfValue} does); true when extended. A lock's holder
   * renews its lease this way, and never one that has passed to someone else.
   */
  extendIfValue(key: string, expected: unknown, ttlMs: number): Promise<boolean>;
  /**
   * Resolves when the backend answers (on a cluster: every master); rejects (fast, well under
   * 1 s) when it does not.
   */
  ping(): Promise<void>;
  /**
   * What the backend keeps on disk (on a cluster: the weakest of its masters), read from its
   * settings; never rejects for a backend that hides them (`unknown`), only when it is down.
   */
  persistence(): Promise<Persistence>;
  /**
   * Sends `message` to every subscriber of `channel` on every instance sharing this store. Best
   * effort: a subscriber that is disconnected at that moment misses it (callers keep a backstop,
   * such as short token lifetimes).
   */
  publish(channel: string, message: string): Promise<void>;
  /** Calls `onMessage` for each message on `channel`; the returned function unsubscribes. */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<() => Promise<void>>;
  /** Releases the connection or file; later calls reject. */
  close(): Promise<void>;
}

// Every method rejects with StoreUnavailableError (store-errors.ts: 503 temporarily_unavailable)
// when the backend fails or is closed; TypeError/RangeError only for a caller's bad input.
