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
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@keyv/redis';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { openStore } from '../adapters/open-store.ts';
import { createRedisStore } from '../adapters/redis-store.ts';
import { createSqliteStore } from '../adapters/sqlite-store.ts';
import type { Store } from '../adapters/store.ts';
import { storeContract, unavailable, type Backend } from './helpers/store-contract-suite.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Opens Redis (or a proxy in front of it) or fails with a message that says what the test needs. */
async function openTestRedisVia(url: string, prefix: string): Promise<Store> {
  try {
    return await createRedisStore(url, { prefix });
  } catch (error) {
    throw new Error(`these tests need a real Redis at ${REDIS_URL} (set REDIS_URL): ${(error as Error).message}`, {
      cause: error,
    });
  }
}

const openTestRedis = (prefix: string) => openTestRedisVia(REDIS_URL, prefix);

/** A plain client for looking behind the store; no retries, so a dead Redis fails the test at once. */
async function rawRedis() {
  const client = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
  client.on('error', () => {});
  await client.connect();
  return client;
}

/** Deletes every key under `prefix` (SCAN + DEL, never KEYS or FLUSHDB: the Redis is shared). */
async function deleteRedisPrefix(prefix: string): Promise<void> {
  const client = await rawRedis();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.del(keys);
    }
  } finally {
    await client.close();
  }
}

function memoryBackend(): Backend {
  return { name: 'memory', open: async () => createMemoryStore(), cleanup: async () => {}, persistence: 'none' };
}

function sqliteBackend(): Backend {
  const dir = mkdtempSync(join(tmpdir(), 'store-contract-'));
  // A directory that does not exist yet: the store must create it.
  const file = join(dir, 'nested', 'gateway.db');
  return {
    name: 'sqlite',
    open: async () => createSqliteStore(file),
    reopen: async () => createSqliteStore(file),
    persistence: 'durable',
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
async function timeToReject(
  promise: Promise<unknown>,
  check: RegExp | ((error: unknown) => boolean) = /./,
): Promise<number> {
  const started = performance.now();
  await assert.rejects(promise, check);
  return performance.now() - started;
}

describe('Redis store specifics', () => {
  const prefix = `test:store:${randomUUID()}:`;
  after(() => deleteRedisPrefix(prefix));

  it('prefixes keys exactly once and stores plain JSON text', async () => {
    const store = await openTestRedis(prefix);
    const raw = await rawRedis();
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
    let store: Store | undefined;
    try {
      store = await openTestRedisVia(proxy.url, prefix);
      await store.set('stall', 'before');
      proxy.stall();
      const ms = await timeToReject(store.get('stall'), unavailable(/did not answer/));
      assert.ok(ms < 1_300, `get took ${ms} ms`);
      const pingMs = await timeToReject(store.ping(), unavailable(/did not answer/));
      assert.ok(pingMs < 1_300, `ping took ${pingMs} ms`);
      proxy.resume();
      assert.equal(await store.get('stall'), 'before');
      await store.set('stall', 'after');
      assert.equal(await store.get('stall'), 'after');
    } finally {
      await store?.close();
      await proxy.stop();
    }
  });

  it('rejects at once while Redis is down, and reconnects by itself when it is back', async () => {
    let proxy = await startRedisProxy();
    let store: Store | undefined;
    try {
      store = await openTestRedisVia(proxy.url, prefix);
      const s = store;
      await s.set('outage', 'kept');
      await proxy.stop();
      await sleep(50); // let the client notice the cut
      for (const call of [() => s.ping(), () => s.get('outage'), () => s.setIfAbsent('outage:nx', 1, 1_000)]) {
        const ms = await timeToReject(call(), unavailable());
        assert.ok(ms < 1_100, `a call took ${ms} ms while Redis was down`);
      }
      proxy = await startRedisProxy(proxy.port);
      const deadline = Date.now() + 5_000;
      for (;;) {
        try {
          await s.ping();
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(100);
        }
      }
      assert.equal(await s.get('outage'), 'kept');
    } finally {
      await store?.close();
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
      const raw = await rawRedis();
      assert.equal(await raw.get(`${prefix}k`), '"v"');
      await raw.close();
    } finally {
      await deleteRedisPrefix(prefix);
    }
  });

  it('refuses an unknown scheme with a clear error that does not echo the URL', async () => {
    await assert.rejects(openStore('postgres://admin:hunter2@db/gateway'), (error: Error) => {
      assert.match(error.message, /unsupported store URL scheme "postgres:"/);
      assert.match(error.message, /memory:\/\/, sqlite:\/\/PATH, redis:\/\/.*redis\+cluster:\/\//);
      assert.doesNotMatch(error.message, /hunter2/);
      return true;
    });
    await assert.rejects(openStore('gateway.db'), /unsupported store URL scheme \(none\)/);
    await assert.rejects(openStore('sqlite:'), /sqlite:\/\/PATH/);
  });
});
