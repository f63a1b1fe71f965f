/**
 * One contract, one suite, every backend: memory, SQLite (a temp file) and a REAL Redis
 * (REDIS_URL, default redis://127.0.0.1:6379) under a key prefix of its own, removed afterwards.
 * An unreachable Redis fails the suite; it never skips. Then what only Redis can get wrong: keys
 * prefixed once, fail-fast while Redis is down or stalled (through a TCP proxy this file starts
 * in front of the real Redis), and recovery when it comes back. Last, openStore's dispatch.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@keyv/redis';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { openStore } from '../adapters/open-store.ts';
import { createRedisStore } from '../adapters/redis-store.ts';
import { createSqliteStore } from '../adapters/sqlite-store.ts';
import type { Store } from '../adapters/store.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

interface Backend {
  name: string;
  open(): Promise<Store>;
  /** Opens the same data again after close() (the durable backends). */
  reopen?(): Promise<Store>;
  cleanup(): Promise<void>;
}

/** Opens Redis or fails with a message that says what the test needs. */
async function openTestRedis(prefix: string): Promise<Store> {
  try {
    return await createRedisStore(REDIS_URL, { prefix });
  } catch (error) {
    throw new Error(`these tests need a real Redis at ${REDIS_URL} (set REDIS_URL): ${(error as Error).message}`, { cause: error });
  }
}

/** Deletes every key under `prefix` (SCAN + DEL, never KEYS or FLUSHDB: the Redis is shared). */
async function deleteRedisPrefix(prefix: string): Promise<void> {
  const client = createClient({ url: REDIS_URL });
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.del(keys);
    }
  } finally {
    await client.close();
  }
}

function memoryBackend(): Backend {
  return { name: 'memory', open: async () => createMemoryStore(), cleanup: async () => {} };
}

function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'store-contract-'));
  // A directory that does not exist yet: the store must create it.
  const file = join(dir, 'nested', 'gateway.db');
  return {
    name: 'sqlite',
    open: async () => createSqliteStore(file),
    reopen: async () => createSqliteStore(file),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

function redisBackend(): Backend {
  const prefix = `test:store:${randomUUID()}:`;
  return {
    name: 'redis',
    open: () => openTestRedis(prefix),
    reopen: () => openTestRedis(prefix),
    cleanup: () => deleteRedisPrefix(prefix),
  };
}

const key = (name: string) => `${name}:${randomUUID()}`;

/** The behaviour every Store must have; run once per backend. */
function storeContract(backend: Backend): void {
  describe(`Store contract: ${backend.name}`, () => {
    let store: Store | undefined;
    const s = () => {
      assert.ok(store, `${backend.name} store did not open`);
      return store;
    };
    before(async () => {
      store = await backend.open();
    });
    after(async () => {
      if (!store) return;
      await store.close();
      await backend.cleanup();
    });

    it('reports its kind and answers ping', async () => {
      assert.equal(s().kind, backend.name);
      await s().ping();
    });

    it('gets, sets, overwrites and deletes JSON values', async () => {
      const k = key('plain');
      assert.equal(await s().get(k), undefined);
      await s().set(k, 'one');
      assert.equal(await s().get(k), 'one');
      await s().set(k, { n: 2 });
      assert.deepEqual(await s().get(k), { n: 2 });
      for (const value of [0, false, null, '', 'ü ✓ 😀', [1, 'two']]) {
        await s().set(k, value);
        assert.deepEqual(await s().get(k), value, `round trip of ${JSON.stringify(value)}`);
      }
      await s().delete(k);
      assert.equal(await s().get(k), undefined);
      await s().delete(k); // deleting an absent key is fine
    });

    it('round-trips nested objects with empty arrays through every write path', async () => {
      const value = { a: [], b: { c: [], d: [{}], e: { f: [[]] } }, g: '', h: 0, i: null, j: true, k: [1, { l: [] }] };
      const k1 = key('json-set');
      const k2 = key('json-setIfAbsent');
      await s().set(k1, value, 60_000);
      assert.equal(await s().setIfAbsent(k2, value, 60_000), true);
      assert.deepEqual(await s().get(k1), value);
      assert.deepEqual(await s().get(k2), value);
      // compare-and-delete sees the same encoding the writes produced
      assert.equal(await s().deleteIfValue(k2, value), true);
    });

    it('hands out copies: mutating a result does not change what is stored', async () => {
      const k = key('copy');
      await s().set(k, { list: [1] });
      const first = await s().get<{ list: number[] }>(k);
      first?.list.push(2);
      assert.deepEqual(await s().get(k), { list: [1] });
    });

    it('expires values after their TTL', async () => {
      const k = key('ttl');
      await s().set(k, 'short', 80);
      await s().set(`${k}:long`, 'long', 60_000);
      assert.equal(await s().get(k), 'short');
      await sleep(200);
      assert.equal(await s().get(k), undefined);
      assert.equal(await s().get(`${k}:long`), 'long');
    });

    it('deletes the key when ttl <= 0', async () => {
      for (const ttl of [0, -1, -60_000]) {
        const k = key('ttl-zero');
        await s().set(k, 'before');
        await s().set(k, 'after', ttl);
        assert.equal(await s().get(k), undefined, `ttl ${ttl}`);
      }
    });

    it('refuses values JSON cannot hold and TTLs an atomic cannot take', async () => {
      const k = key('bad');
      await assert.rejects(s().set(k, undefined), TypeError);
      await assert.rejects(s().setIfAbsent(k, () => 1), TypeError);
      await assert.rejects(s().setIfAbsent(k, 'v', 0), RangeError);
      await assert.rejects(s().addToSet(k, 'm', -5), RangeError);
      await assert.rejects(s().set(k, 'v', Number.NaN), RangeError);
      assert.equal(await s().get(k), undefined);
    });

    it('setIfAbsent: of 20 parallel callers exactly one wins, and its value stays', async () => {
      const k = key('nx');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => s().setIfAbsent(k, { caller: i }, 60_000)));
      assert.equal(results.filter(Boolean).length, 1);
      const winner = results.indexOf(true);
      assert.deepEqual(await s().get(k), { caller: winner });
      assert.equal(await s().setIfAbsent(k, 'late', 60_000), false);
    });

    it('setIfAbsent: an expired key counts as absent; without a TTL the value stays', async () => {
      const k = key('nx-ttl');
      assert.equal(await s().setIfAbsent(k, 'first', 80), true);
      assert.equal(await s().setIfAbsent(k, 'second', 80), false);
      await sleep(200);
      assert.equal(await s().setIfAbsent(k, 'third', 80), true);
      assert.equal(await s().get(k), 'third');

      const forever = key('nx-forever');
      assert.equal(await s().setIfAbsent(forever, 'kept'), true);
      await sleep(100);
      assert.equal(await s().setIfAbsent(forever, 'other'), false);
      assert.equal(await s().get(forever), 'kept');
    });

    it('deleteIfValue deletes only while the key holds the expected value', async () => {
      const k = key('cad');
      assert.equal(await s().deleteIfValue(k, 'x'), false, 'absent');
      await s().set(k, 'mine');
      assert.equal(await s().deleteIfValue(k, 'theirs'), false);
      assert.equal(await s().get(k), 'mine');
      assert.equal(await s().deleteIfValue(k, 'mine'), true);
      assert.equal(await s().get(k), undefined);

      await s().set(k, { token: 't', n: [] });
      assert.equal(await s().deleteIfValue(k, { token: 't', n: [] }), true, 'same JSON encoding');

      await s().set(k, 'expiring', 50);
      await sleep(150);
      assert.equal(await s().deleteIfValue(k, 'expiring'), false, 'expired');
    });

    it('deleteIfValue: of 20 parallel callers exactly one deletes', async () => {
      const k = key('cad-race');
      await s().set(k, 'lock-token');
      const results = await Promise.all(Array.from({ length: 20 }, () => s().deleteIfValue(k, 'lock-token')));
      assert.equal(results.filter(Boolean).length, 1);
    });

    it('sets: add, ignore duplicates, list; an absent set is empty', async () => {
      const k = key('set');
      assert.deepEqual(await s().setMembers(k), []);
      await s().addToSet(k, 'a', 60_000);
      await s().addToSet(k, 'b', 60_000);
      await s().addToSet(k, 'a', 60_000);
      assert.deepEqual((await s().setMembers(k)).sort(), ['a', 'b']);
      await s().delete(k);
      assert.deepEqual(await s().setMembers(k), []);
    });

    it('sets: 50 parallel adds all land', async () => {
      const k = key('set-race');
      const members = Array.from({ length: 50 }, (_, i) => `AccessToken:${i}`);
      await Promise.all(members.map((m) => s().addToSet(k, m, 60_000)));
      assert.deepEqual((await s().setMembers(k)).sort(), [...members].sort());
    });

    it('sets: expire, and a shorter TTL never shortens the set', async () => {
      const k = key('set-ttl');
      await s().addToSet(k, 'a', 300);
      await s().addToSet(k, 'b', 50);
      await sleep(150);
      assert.deepEqual((await s().setMembers(k)).sort(), ['a', 'b'], 'still alive on the longer TTL');
      await s().addToSet(k, 'c', 500);
      await sleep(300);
      assert.deepEqual((await s().setMembers(k)).sort(), ['a', 'b', 'c'], 'extended by the later, longer TTL');
      await sleep(350);
      assert.deepEqual(await s().setMembers(k), []);
      await s().addToSet(k, 'fresh', 60_000);
      assert.deepEqual(await s().setMembers(k), ['fresh'], 'an expired set starts over');
    });

    if (backend.reopen) {
      it('keeps values and expiries across close and reopen', async () => {
        const k = key('durable');
        await s().set(k, { kept: [] });
        await s().set(`${k}:ttl`, 'short', 100);
        await s().addToSet(`${k}:set`, 'm', 60_000);
        await s().close();
        store = await backend.reopen!();
        assert.deepEqual(await s().get(k), { kept: [] });
        assert.deepEqual(await s().setMembers(`${k}:set`), ['m']);
        await sleep(200);
        assert.equal(await s().get(`${k}:ttl`), undefined);
      });
    }

    it('rejects calls after close', async () => {
      const closing = await backend.open();
      await closing.close();
      await assert.rejects(closing.get('x'), /closed/);
      await assert.rejects(closing.ping(), /closed/);
      await closing.close(); // twice is fine
    });
  });
}

for (const backend of [memoryBackend(), sqliteBackend(), redisBackend()]) storeContract(backend);

/**
 * A TCP proxy in front of the real Redis: `stop()` is an outage (connections cut, port closed),
 * `stall()` a server that accepts bytes but answers nothing until `resume()` (order is kept, as
 * a slow Redis would keep it).
 */
async function startRedisProxy(port = 0) {
  const target = new URL(REDIS_URL);
  const sockets = new Set<net.Socket>();
  let stalled = false;
  const held: Array<() => void> = [];
  const server = net.createServer((downstream) => {
    const upstream = net.connect(Number(target.port || 6379), target.hostname);
    for (const socket of [downstream, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => {
        sockets.delete(socket);
        downstream.destroy();
        upstream.destroy();
      });
    }
    downstream.on('data', (chunk) => {
      if (stalled) held.push(() => upstream.write(chunk));
      else upstream.write(chunk);
    });
    upstream.on('data', (chunk) => downstream.write(chunk));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  return {
    url: `redis://127.0.0.1:${address.port}`,
    port: address.port,
    stall() {
      stalled = true;
    },
    resume() {
      stalled = false;
      for (const write of held.splice(0)) write();
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** How long `promise` takes to reject, asserting that it does reject. */
async function timeToReject(promise: Promise<unknown>, pattern: RegExp = /./): Promise<number> {
  const started = performance.now();
  await assert.rejects(promise, pattern);
  return performance.now() - started;
}

describe('Redis store specifics', () => {
  const prefix = `test:store:${randomUUID()}:`;
  after(() => deleteRedisPrefix(prefix));

  it('prefixes keys exactly once and stores plain JSON text', async () => {
    const store = await openTestRedis(prefix);
    const raw = createClient({ url: REDIS_URL });
    await raw.connect();
    try {
      await store.set('once', { a: [] });
      await store.addToSet('members', 'm', 60_000);
      assert.equal(await raw.get(`${prefix}once`), '{"a":[]}');
      assert.equal(await raw.type(`${prefix}members`), 'set');
      assert.equal((await raw.keys(`${prefix}*${prefix}*`)).length, 0, 'no doubled prefix');
      const pttl = await raw.pTTL(`${prefix}members`);
      assert.ok(pttl > 0 && pttl <= 60_000, `set TTL ${pttl}`);
    } finally {
      await raw.close();
      await store.close();
    }
  });

  it('fails to open within a few seconds when nothing listens, without leaking the password', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as net.AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    let message = '';
    const ms = await timeToReject(
      createRedisStore(`redis://user:s3cret-pw@127.0.0.1:${port}`).catch((error: Error) => {
        message = error.message;
        throw error;
      }),
    );
    assert.ok(ms < 3_000, `took ${ms} ms`);
    assert.match(message, new RegExp(`127\\.0\\.0\\.1:${port}`));
    assert.doesNotMatch(message, /s3cret/);
  });

  it('rejects within about 1 s while Redis stalls, then carries on', async () => {
    const proxy = await startRedisProxy();
    const store = await createRedisStore(proxy.url, { prefix });
    try {
      await store.set('stall', 'before');
      proxy.stall();
      const ms = await timeToReject(store.get('stall'), /did not answer/);
      assert.ok(ms < 1_300, `get took ${ms} ms`);
      const pingMs = await timeToReject(store.ping());
      assert.ok(pingMs < 1_300, `ping took ${pingMs} ms`);
      proxy.resume();
      assert.equal(await store.get('stall'), 'before');
      await store.set('stall', 'after');
      assert.equal(await store.get('stall'), 'after');
    } finally {
      await store.close();
      await proxy.stop();
    }
  });

  it('rejects at once while Redis is down, and reconnects by itself when it is back', async () => {
    let proxy = await startRedisProxy();
    const store = await createRedisStore(proxy.url, { prefix });
    try {
      await store.set('outage', 'kept');
      await proxy.stop();
      await sleep(50); // let the client notice the cut
      for (const call of [() => store.ping(), () => store.get('outage'), () => store.setIfAbsent('outage:nx', 1, 1_000)]) {
        const ms = await timeToReject(call());
        assert.ok(ms < 1_100, `a call took ${ms} ms while Redis was down`);
      }
      proxy = await startRedisProxy(proxy.port);
      const deadline = Date.now() + 5_000;
      for (;;) {
        try {
          await store.ping();
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(100);
        }
      }
      assert.equal(await store.get('outage'), 'kept');
    } finally {
      await store.close();
      await proxy.stop();
    }
  });
});

describe('openStore', () => {
  it('opens memory://', async () => {
    const store = await openStore('memory://');
    assert.equal(store.kind, 'memory');
    await store.close();
  });

  it('opens sqlite://PATH relative to the working directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'open-store-'));
    try {
      const file = join(dir, 'sub', 'gateway.db');
      const store = await openStore(`sqlite://${relative(process.cwd(), file)}`);
      assert.equal(store.kind, 'sqlite');
      await store.set('k', 'v');
      await store.close();
      const again = await openStore(`sqlite://${file}`); // an absolute path (sqlite:///…) too
      assert.equal(await again.get('k'), 'v');
      await again.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('opens redis:// with the given prefix', async () => {
    const prefix = `test:store:${randomUUID()}:`;
    try {
      const store = await openStore(REDIS_URL, { prefix }).catch((error: Error) => {
        throw new Error(`these tests need a real Redis at ${REDIS_URL}: ${error.message}`, { cause: error });
      });
      assert.equal(store.kind, 'redis');
      await store.set('k', 'v');
      await store.close();
      const raw = createClient({ url: REDIS_URL });
      await raw.connect();
      assert.equal(await raw.get(`${prefix}k`), '"v"');
      await raw.close();
    } finally {
      await deleteRedisPrefix(prefix);
    }
  });

  it('refuses an unknown scheme with a clear error that does not echo the URL', async () => {
    await assert.rejects(openStore('postgres://admin:hunter2@db/gateway'), (error: Error) => {
      assert.match(error.message, /unsupported store URL scheme "postgres:"/);
      assert.match(error.message, /memory:\/\/, sqlite:\/\/PATH, redis:\/\//);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
    await assert.rejects(openStore('gateway.db'), /unsupported store URL scheme \(none\)/);
    await assert.rejects(openStore('sqlite:'), /sqlite:\/\/PATH/);
  });
});
