/**
 * The real Redis on 127.0.0.1:6379 (REDIS_URL to change it), shared by several gateway instances
 * in one test under a key prefix of that test's own; `cleanup()` deletes every key under it
 * (SCAN + DEL, never FLUSHDB: the Redis is shared with other suites). No Redis: a clear failure.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from '@keyv/redis';
import { openStore } from '../../adapters/open-store.ts';
import type { Store } from '../../adapters/store.ts';

export const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

export interface SharedRedis {
  url: string;
  prefix: string;
  /** A new connection to the shared data (one per gateway instance, as in production). */
  open(): Promise<Store>;
  /** Every key under the prefix, for tests that look at what is stored. */
  keys(): Promise<string[]>;
  cleanup(): Promise<void>;
}

export function sharedRedis(name: string): SharedRedis {
  const prefix = `test:${name}:${randomUUID()}:`;
  type Client = ReturnType<typeof createClient>;
  const raw = async <T>(use: (client: Client) => Promise<T>): Promise<T> => {
    const client = createClient({
      url: REDIS_URL,
      socket: { reconnectStrategy: false, connectTimeout: 1_000 },
    }) as unknown as Client;
    client.on('error', () => {});
    await client.connect();
    try {
      return await use(client);
    } finally {
      await client.close();
    }
  };
  const keys = () =>
    raw(async (client) => {
      const found: string[] = [];
      for await (const batch of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) found.push(...batch);
      return found;
    });
  return {
    url: REDIS_URL,
    prefix,
    async open() {
      try {
        return await openStore(REDIS_URL, { prefix });
      } catch (error) {
        throw new Error(`this test needs a real Redis at ${REDIS_URL} (set REDIS_URL): ${(error as Error).message}`, {
          cause: error,
        });
      }
    },
    keys,
    async cleanup() {
      const found = await keys();
      if (found.length > 0) await raw((client) => client.del(found));
    },
  };
}
