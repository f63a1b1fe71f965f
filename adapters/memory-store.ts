/**
 * The in-process store: keyv over its default Map, for tests, single-instance demos and the
 * development IdP. Nothing survives a restart and nothing is shared between processes.
 *
 * Plain get/set/delete go through keyv, which keeps `{ value, expires }` per key and drops an
 * expired entry when it is read. The atomic operations do NOT go through keyv: every keyv call
 * awaits between its read and its write, so two parallel `setIfAbsent` on keyv could both see
 * "absent" and both win. Here they read and write the same Map synchronously, in the same entry
 * format, so each runs to completion before any other JavaScript does: atomic by construction in
 * one thread, with no locks.
 *
 * Entries are stored as JSON text, not as objects, so a caller that mutates what `get` returned
 * cannot change what is stored, and values round-trip exactly as they would through SQLite or
 * Redis (the contract suite checks the three alike).
 */
import { Keyv, type DeserializedData } from 'keyv';
import { createLocalChannels } from './local-channels.ts';
import type { Store } from './store.ts';
import { StoreUnavailableError } from './store-errors.ts';
import { encodeValue, positiveTtl, setTtl } from './store-input.ts';

/** What keyv keeps per key; the atomic operations below read and write the same shape. */
interface Entry {
  value: unknown;
  expires?: number | undefined;
}

/** How often entries that expired without being read again are swept out of the Map. */
const SWEEP_INTERVAL_MS = 60_000;

/** One entry as JSON text, around the value's JSON text (from `encodeValue`, which refuses undefined). */
function entryText(json: string, expires: number | undefined): string {
  return expires === undefined ? `{"value":${json}}` : `{"value":${json},"expires":${expires}}`;
}

function decodeEntry(text: unknown): Entry | undefined {
  return typeof text === 'string' ? (JSON.parse(text) as Entry) : undefined;
}

/** Expiry as keyv checks it (`Date.now() > expires`), so both paths agree on the same instant. */
function isLive(entry: Entry | undefined, now: number): entry is Entry {
  return entry !== undefined && (entry.expires === undefined || now <= entry.expires);
}

/** Options of {@link createMemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The Map to keep entries in (key → JSON text of `{ value, expires }`), for a caller that must
   * see exactly what is kept, such as a test of what a dump of the store reveals. Default: a new one.
   */
  map?: Map<string, string>;
}

/** A Store held in this process's memory; atomic operations are synchronous on the Map. */
export function createMemoryStore(options: MemoryStoreOptions = {}): Store {
  const map = options.map ?? new Map<string, string>();
  const keyv = new Keyv({
    store: map,
    // No prefix: the Map belongs to this store alone.
    namespace: '',
    useKeyPrefix: false,
    throwOnErrors: true,
    serialize: (data: DeserializedData<unknown>) => entryText(encodeValue(data.value), data.expires),
    deserialize: <T>(text: string) => JSON.parse(text) as DeserializedData<T>,
  });
  let closed = false;

  // A value nobody reads again would stay forever; sweep now and then. unref(): this timer never
  // keeps the process alive on its own.
  const sweeper = setInterval(() => {
    const now = Date.now();
    for (const [key, text] of map) {
      if (!isLive(decodeEntry(text), now)) map.delete(key);
    }
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  function assertOpen(): void {
    if (closed) throw new StoreUnavailableError('the memory store is closed');
  }

  function liveEntry(key: string, now: number): Entry | undefined {
    const entry = decodeEntry(map.get(key));
    return isLive(entry, now) ? entry : undefined;
  }

  return {
    kind: 'memory',

    async get<T>(key: string): Promise<T | undefined> {
      assertOpen();
      // keyv answers undefined for absent or expired; a stored null comes back as null.
      return keyv.get<T>(key);
    },

    async getMany<T>(keys: readonly string[]): Promise<Array<T | undefined>> {
      assertOpen();
      const now = Date.now();
      // Each entry is parsed afresh, so every value is a copy, as get's.
      return keys.map((key) => liveEntry(key, now)?.value as T | undefined);
    },

    async set(key, value, ttlMs) {
      assertOpen();
      const ttl = setTtl(ttlMs);
      if (ttl === 'delete') {
        encodeValue(value);
        await keyv.delete(key);
        return;
      }
      await keyv.set(key, value, ttl);
    },

    async delete(key) {
      assertOpen();
      await keyv.delete(key);
    },

    async setIfAbsent(key, value, ttlMs) {
      assertOpen();
      const ttl = positiveTtl(ttlMs, 'setIfAbsent');
      const json = encodeValue(value);
      // Synchronous from here to the write: no other call can run in between.
      const now = Date.now();
      if (liveEntry(key, now)) return false;
      map.set(key, entryText(json, ttl === undefined ? undefined : now + ttl));
      return true;
    },

    async setIfAbsentWithOwner(key, value, ownerKey, ttlMs) {
      assertOpen();
      const ttl = positiveTtl(ttlMs, 'setIfAbsentWithOwner') as number;
      const json = encodeValue(value);
      const now = Date.now();
      const owner = liveEntry(ownerKey, now);
      if (!owner || liveEntry(key, now)) return false;
      map.set(key, entryText(json, owner.expires ?? now + ttl));
      return true;
    },

    async deleteIfValue(key, expected) {
      assertOpen();
      const wanted = encodeValue(expected);
      const entry = liveEntry(key, Date.now());
      // JSON text of a parsed JSON text is the same text, so this compares encodings exactly.
      if (!entry || JSON.stringify(entry.value) !== wanted) return false;
      map.delete(key);
      return true;
    },

    async addToSet(key, member, ttlMs) {
      assertOpen();
      const ttl = positiveTtl(ttlMs, 'addToSet') as number;
      const now = Date.now();
      const entry = liveEntry(key, now);
      const members = entry && Array.isArray(entry.value) ? (entry.value as string[]) : [];
      if (!members.includes(member)) members.push(member);
      // Extend only: an older, longer expiry (or none at all) wins over this call's.
      const expires =
        entry && Array.isArray(entry.value)
          ? entry.expires === undefined
            ? undefined
            : Math.max(entry.expires, now + ttl)
          : now + ttl;
      map.set(key, entryText(JSON.stringify(members), expires));
    },

    async setMembers(key) {
      assertOpen();
      const entry = liveEntry(key, Date.now());
      return entry && Array.isArray(entry.value) ? (entry.value as string[]) : [];
    },

    async increment(key, ttlMs) {
      assertOpen();
      const ttl = positiveTtl(ttlMs, 'increment') as number;
      const now = Date.now();
      const entry = liveEntry(key, now);
      const counting = entry !== undefined && typeof entry.value === 'number';
      const count = (counting ? (entry.value as number) : 0) + 1;
      map.set(key, entryText(String(count), counting ? entry.expires : now + ttl));
      return count;
    },

    async extendIfValue(key, expected, ttlMs) {
      assertOpen();
      const ttl = positiveTtl(ttlMs, 'extendIfValue') as number;
      const wanted = encodeValue(expected);
      const now = Date.now();
      const entry = liveEntry(key, now);
      if (!entry || JSON.stringify(entry.value) !== wanted) return false;
      map.set(key, entryText(wanted, now + ttl));
      return true;
    },

    ...createLocalChannels(),

    async ping() {
      assertOpen();
    },

    async persistence() {
      assertOpen();
      return { level: 'none', detail: 'memory:// keeps everything in this process' };
    },

    async close() {
      closed = true;
      clearInterval(sweeper);
      map.clear();
    },
  };
}
