/**
 * oidc-provider's Adapter over the Store (the suite is tests/helpers/oidc-adapter-suite.ts), on
 * the same three backends as the store contract: memory, SQLite (a temp file) and a REAL Redis
 * (REDIS_URL, default redis://127.0.0.1:6379) under a key prefix of its own, removed afterwards.
 * An unreachable Redis fails the suite; it never skips. Redis Cluster: tests/redis-cluster.test.ts.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@keyv/redis';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { createRedisStore } from '../adapters/redis-store.ts';
import { createSqliteStore } from '../adapters/sqlite-store.ts';
import { adapterSuite } from './helpers/oidc-adapter-suite.ts';
import type { Backend } from './helpers/store-contract-suite.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

/** Deletes every key under `prefix` (SCAN + DEL, never FLUSHDB: the Redis is shared). */
async function deleteRedisPrefix(prefix: string): Promise<void> {
  const client = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
  client.on('error', () => {});
  await client.connect();
  try {
    for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
      if (keys.length > 0) await client.del(keys);
    }
  } finally {
    await client.close();
  }
}

function backends(): Backend[] {
  const dir = mkdtempSync(join(tmpdir(), 'oidc-adapter-'));
  const prefix = `test:oidc:${randomUUID()}:`;
  return [
    { name: 'memory', open: async () => createMemoryStore(), cleanup: async () => {} },
    {
      name: 'sqlite',
      open: async () => createSqliteStore(join(dir, 'oidc.db')),
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    },
    {
      name: 'redis',
      open: async () => {
        try {
          return await createRedisStore(REDIS_URL, { prefix });
        } catch (error) {
          throw new Error(
            `these tests need a real Redis at ${REDIS_URL} (set REDIS_URL): ${(error as Error).message}`,
            { cause: error },
          );
        }
      },
      cleanup: () => deleteRedisPrefix(prefix),
    },
  ];
}

for (const backend of backends()) adapterSuite(backend);
