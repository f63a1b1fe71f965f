import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { createMemoryStore } from '../../../../adapters/memory-store.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSqliteStore } from '../../../../adapters/sqlite-store.ts';
import type { Store } from '../../../../adapters/store.ts';
import {
  type ClientCache,
  clientManagement,
  startClientCache,
  withClientChanges,
} from '../../../../gateway/clients/client-cache.ts';

const quiet = { warn() {} };

async function cacheOn(store: Store, ttlMs?: number): Promise<ClientCache> {
  const cache = await startClientCache(store, quiet, ttlMs);
  assert.ok(cache, `a ${store.kind} store keeps copies`);
  return cache;
}

/** An in-memory Client adapter that counts its reads. */
function countingAdapter() {
  const records = new Map<string, AdapterPayload>();
  let reads = 0;
  const adapter: Adapter = {
    async upsert(id, payload) {
      records.set(id, payload);
    },
    async find(id) {
      reads += 1;
      const found = records.get(id);
      return found ? structuredClone(found) : undefined;
    },
    async findByUid() {
      return undefined;
    },
    async findByUserCode() {
      return undefined;
    },
    async consume() {},
    async destroy(id) {
      records.delete(id);
    },
    async revokeByGrantId() {},
  };
  return { adapter, reads: () => reads };
}

describe('client records kept for a second (client-cache.ts)', () => {
  it('reads a client once, then answers from its copy until the copy is a second old', async () => {
    const store = createMemoryStore();
    const cache = await cacheOn(store, 100);
    const { adapter, reads } = countingAdapter();
    const clients = withClientChanges(() => adapter, store, cache)('Client');
    await clients.upsert('shop', { client_id: 'shop', redirect_uris: ['https://shop.test/cb'] }, undefined as never);
    const first = await clients.find('shop');
    assert.deepEqual(await clients.find('shop'), first);
    assert.equal(reads(), 1, 'the second find used the copy');
    assert.ok(Object.isFrozen(first) && Object.isFrozen(first?.['redirect_uris']), 'the copy cannot be changed');
    await new Promise((resolve) => setTimeout(resolve, 120));
    await clients.find('shop');
    assert.equal(reads(), 2, 'an expired copy is read again');
    await cache.stop();
  });

  it('never keeps an unknown client id', async () => {
    const store = createMemoryStore();
    const cache = await cacheOn(store);
    const { adapter, reads } = countingAdapter();
    const clients = withClientChanges(() => adapter, store, cache)('Client');
    assert.equal(await clients.find('nobody'), undefined);
    await clients.upsert('nobody', { client_id: 'nobody' }, undefined as never);
    assert.equal((await clients.find('nobody'))?.['client_id'], 'nobody', 'registered a moment ago: found at once');
    assert.equal(reads(), 2);
    await cache.stop();
  });

  it('drops the copy on every instance when one of them changes or removes the client', async () => {
    // Two instances on one store: each its own cache, one shared record set and channel.
    const store = createMemoryStore();
    const { adapter } = countingAdapter();
    const [cacheA, cacheB] = [await cacheOn(store), await cacheOn(store)];
    const atA = withClientChanges(() => adapter, store, cacheA)('Client');
    const atB = withClientChanges(() => adapter, store, cacheB)('Client');
    await atA.upsert('shop', { client_id: 'shop', client_secret: 'old' }, undefined as never);
    assert.equal((await atB.find('shop'))?.['client_secret'], 'old');
    await atA.upsert('shop', { client_id: 'shop', client_secret: 'new' }, undefined as never);
    assert.equal((await atB.find('shop'))?.['client_secret'], 'new', 'B heard the change');
    await atA.destroy('shop');
    assert.equal(await atB.find('shop'), undefined, 'B heard the removal');
    await cacheA.stop();
    await cacheB.stop();
  });

  it('does not keep a read that was in flight while a change was heard', async () => {
    const store = createMemoryStore();
    const cache = await cacheOn(store);
    let release: () => void = () => {};
    const stale = await cache.find('shop', async () => ({ client_id: 'shop', client_secret: 'fresh' }));
    assert.equal(stale?.['client_secret'], 'fresh');
    cache.forget('shop');
    const slow = cache.find('shop', async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return { client_id: 'shop', client_secret: 'old' };
    });
    // The change lands while the slow read is still out.
    cache.forget('shop');
    release();
    assert.equal((await slow)?.['client_secret'], 'old', 'the caller gets what it read');
    const next = await cache.find('shop', async () => ({ client_id: 'shop', client_secret: 'new' }));
    assert.equal(next?.['client_secret'], 'new', 'but the old read was not kept');
    await cache.stop();
  });

  it('reads the store itself for the registry (findStored), past the copy', async () => {
    const store = createMemoryStore();
    const cache = await cacheOn(store);
    const { adapter, reads } = countingAdapter();
    const clients = withClientChanges(() => adapter, store, cache)('Client') as Adapter & {
      findStored(id: string): Promise<AdapterPayload | undefined>;
    };
    await clients.upsert('shop', { client_id: 'shop' }, undefined as never);
    await clients.find('shop');
    await clients.findStored('shop');
    await clients.findStored('shop');
    assert.equal(reads(), 3);
    await cache.stop();
  });

  it('keeps no copies on a SQLite file, which the CLI changes from another process', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'client-cache-'));
    const store = createSqliteStore(join(dir, 'gateway.db'));
    try {
      assert.equal(await startClientCache(store, quiet), undefined);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets the registration management endpoint (RFC 7592) read the store, and change a client under its lock', async () => {
    const store = createMemoryStore();
    const cache = await cacheOn(store);
    await cache.find('shop', async () => ({ client_id: 'shop', client_secret: 'old' }));
    let read = 0;
    const reread = async () => {
      read += 1;
      return { client_id: 'shop', client_secret: 'new' };
    };
    const middleware = clientManagement({
      store,
      cache,
      registrationPath: '/reg',
      clientOfToken: async (token) => (token === 'shop-registration-token' ? 'shop' : undefined),
    });
    /** A request's context as the guard reads it. */
    const request = (path: string, method: string, token?: string) => ({
      path,
      method,
      get: (header: string) => (header === 'authorization' && token ? `Bearer ${token}` : ''),
    });
    await middleware(request('/token', 'POST'), async () => {
      await cache.find('shop', reread);
    });
    assert.equal(read, 0, 'other endpoints use the copy');
    await middleware(request('/reg/shop', 'GET'), async () => {
      assert.equal((await cache.find('shop', reread))?.['client_secret'], 'new');
    });
    assert.equal(read, 1, '/reg/shop read the store');
    // oidc-provider's router ignores case: so does the guard.
    await middleware(request('/REG/shop', 'PUT', 'shop-registration-token'), async () => {
      await cache.find('shop', reread);
      assert.notEqual(await store.get('lock:client:shop'), undefined, "a change holds the client's lock");
    });
    assert.equal(read, 2, '/REG/shop read the store too');
    assert.equal(await store.get('lock:client:shop'), undefined, 'and released it');
    // Without the client's registration access token, no lock: anyone could hold it otherwise.
    await middleware(request('/reg/shop', 'PUT', 'someone-elses-token'), async () => {
      assert.equal(await store.get('lock:client:shop'), undefined, 'no lock for another token');
    });
    await middleware(request('/reg/shop', 'DELETE'), async () => {
      assert.equal(await store.get('lock:client:shop'), undefined, 'no lock without a token');
    });
    await middleware(request('/reg/%E0%A4%A', 'DELETE', 'shop-registration-token'), async () => {});
    await cache.stop();
  });
});
