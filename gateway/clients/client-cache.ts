/**
 * Client records kept in process for a second, so a token request does not read and open its
 * client's record from the shared store every time (a round trip and an AES-GCM open per request;
 * bare oidc-provider keeps its clients in memory).
 *
 * A client changed or removed anywhere must still be refused on the next request everywhere:
 * - every client write through the provider's adapter (registration, its management API, the CLI,
 *   the admin API, the clients file) announces the client id on the store's channel once the
 *   write has landed, and every instance drops its copy when it hears it: on Redis within the
 *   time the message takes to arrive (milliseconds; a busy instance's event loop can answer a
 *   request or two that arrived just before it), as sign-outs reach every instance;
 * - an announcement can be lost (a subscriber reconnecting), so no copy is used for longer than
 *   `ttlMs` (1 s) either;
 * - a read that was in flight while a change was heard is not kept: it may have read the record
 *   as it was before the change;
 * - a SQLite file keeps no copies at all: the CLI changes it from another process, and SQLite has
 *   no channel between processes, so a copy could outlive a removal by the whole second;
 * - the registration management endpoint (RFC 7592: read, change, delete one client) always
 *   reads the store itself ({@link clientManagement}): what it writes back is built from what it
 *   read, and a copy from before another instance's change would undo that change.
 * Unknown client ids are never kept (a flood of made-up ids must not fill the cache, and a client
 * registered a moment ago must be found at once). Records are frozen: oidc-provider builds its
 * Client from them and must never change the copy the next request gets.
 */
import type { Adapter, AdapterPayload } from 'oidc-provider';
import type { Store } from '../../adapters/store.ts';
import { withLock } from '../../adapters/with-lock.ts';
import { BoundedCache } from '../web/bounded-cache.ts';
import { bearerToken } from '../web/bearer-token.ts';
import { clientLockKey } from './client-registry.ts';

/** The channel client writes are announced on: the message is the client id. */
export const CLIENT_CHANGES_CHANNEL = 'clients:changed';
/** How long a copy is used when no announcement arrives. */
export const CLIENT_CACHE_TTL_MS = 1000;
/** At most this many clients kept (each a few hundred bytes). */
const MAX_CACHED_CLIENTS = 10_000;

export interface ClientCache {
  /** The record of `id`: the kept copy, or `read()`'s answer (kept when it is a client). */
  find(id: string, read: () => Promise<AdapterPayload | undefined>): Promise<AdapterPayload | undefined>;
  /** The copy kept for `id` now (the object `find` hands out), without reading the store. */
  kept(id: string): AdapterPayload | undefined;
  /** `id` was written or removed: forget it here, and any read of it in flight. */
  forget(id: string): void;
  stop(): Promise<void>;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value)) deepFreeze(inner);
  }
  return value;
}

/**
 * Starts listening for client changes on `store`'s channel; undefined for a store whose writers
 * in other processes cannot reach it (SQLite): there every find reads the store.
 */
export async function startClientCache(
  store: Store,
  log: { warn(obj: object, msg: string): void },
  ttlMs = CLIENT_CACHE_TTL_MS,
): Promise<ClientCache | undefined> {
  if (store.kind === 'sqlite') return undefined;
  const copies = new BoundedCache<AdapterPayload>(MAX_CACHED_CLIENTS);
  // Bumped by every change heard: a read that began before a bump is not kept.
  let generation = 0;
  const forget = (id: string) => {
    generation += 1;
    copies.delete(id);
  };
  let unsubscribe: (() => Promise<void>) | undefined;
  try {
    unsubscribe = await store.subscribe(CLIENT_CHANGES_CHANNEL, forget);
  } catch (error) {
    // Without the channel a copy is still never older than ttlMs.
    log.warn(
      { err: (error as Error).message },
      'cannot listen for client changes on other instances; kept client records expire after 1 s',
    );
  }
  return {
    async find(id, read) {
      const kept = copies.get(id);
      if (kept) return kept;
      const before = generation;
      const payload = await read();
      if (payload && generation === before) copies.set(id, deepFreeze(payload), Date.now() + ttlMs);
      return payload;
    },
    kept: (id) => copies.get(id),
    forget,
    async stop() {
      await unsubscribe?.();
    },
  };
}

/**
 * A Koa middleware for the registration management endpoint (`/reg/<client_id>`, RFC 7592),
 * which reads a client, changes it and writes it back:
 * - the client is read from the store, never from a copy (one from before another instance's
 *   change would undo that change when written back);
 * - a change (PUT, DELETE) holds the client's lock, the one the CLI's and the admin API's writes
 *   take (client-registry.ts), so that a PUT that read the client before an operator removed it
 *   or rotated its secret cannot write the old client back afterwards. Only a request bearing
 *   that client's registration access token takes it (`clientOfToken`): anyone else, refused by
 *   oidc-provider anyway, could otherwise hold an operator's change up, a slow body at a time.
 * oidc-provider's router matches paths without regard to case (`/REG/<id>`), so this does too.
 */
export function clientManagement(deps: {
  store: Store;
  cache: ClientCache | undefined;
  registrationPath: string;
  /** The client a registration access token was issued for, or undefined. */
  clientOfToken: (token: string) => Promise<string | undefined>;
}) {
  const { store, cache } = deps;
  const prefix = `${deps.registrationPath.toLowerCase()}/`;
  return async function clientManagementGuard(
    ctx: { path: string; method: string; get(header: string): string },
    next: () => Promise<void>,
  ): Promise<void> {
    if (!ctx.path.toLowerCase().startsWith(prefix)) return next();
    const raw = ctx.path.slice(prefix.length);
    let clientId = raw;
    try {
      clientId = decodeURIComponent(raw);
    } catch {
      // Not an id oidc-provider will find either (it answers the malformed path itself).
    }
    // Forgetting also keeps any read in flight from being kept: oidc-provider's find goes to the store.
    const forget = () => {
      cache?.forget(raw);
      cache?.forget(clientId);
    };
    const token = bearerToken(ctx.get('authorization'));
    const changes = ctx.method === 'PUT' || ctx.method === 'DELETE';
    if (!changes || token === undefined || (await deps.clientOfToken(token)) !== clientId) {
      forget();
      return next();
    }
    await withLock(store, clientLockKey(clientId), async () => {
      forget();
      await next();
    });
  };
}

/**
 * Wraps the provider's Client adapter: finds go through `cache` (when the process serves
 * requests; the CLI has none), and every write is announced to the other instances once it has
 * landed. Other models pass through untouched.
 */
export function withClientChanges(
  factory: (name: string) => Adapter,
  store: Store,
  cache: ClientCache | undefined,
): (name: string) => Adapter {
  return (name) => {
    const adapter = factory(name);
    if (name !== 'Client') return adapter;
    const announce = async (id: string) => {
      cache?.forget(id);
      // Best effort: the write has landed; a lost announcement is bounded by the copies' ttl.
      await store.publish(CLIENT_CHANGES_CHANNEL, id).catch(() => undefined);
    };
    // Every method delegated by name: a spread would drop the methods of a class-based adapter.
    return {
      async upsert(id, payload, expiresIn) {
        await adapter.upsert(id, payload, expiresIn);
        await announce(id);
      },
      find: (id) => (cache ? cache.find(id, async () => (await adapter.find(id)) ?? undefined) : adapter.find(id)),
      // For the registry's read-modify-write: the record as stored now (client-model.ts).
      findStored: (id: string) => adapter.find(id),
      findByUid: (uid) => adapter.findByUid(uid),
      findByUserCode: (userCode) => adapter.findByUserCode(userCode),
      consume: (id) => adapter.consume(id),
      async destroy(id) {
        await adapter.destroy(id);
        await announce(id);
      },
      revokeByGrantId: (grantId) => adapter.revokeByGrantId(grantId),
    };
  };
}
