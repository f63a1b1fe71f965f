/**
 * A whole database of the real Redis, for suites whose processes (the CLI) open the store with the
 * gateway's default key prefix and so cannot be given a prefix of their own: the first database
 * of `databases` whose lock this run can take, emptied of the gateway's keys before and after.
 */
import { randomUUID } from 'node:crypto';
import { createClient } from '@keyv/redis';
import { REDIS_URL } from './shared-redis.ts';

export interface ClaimedDatabase {
  url: string;
  /** Deletes the gateway's keys (`gateway:*`), keeping the claim. */
  empty(): Promise<void>;
  /** Empties it and gives the claim up. */
  release(): Promise<void>;
}

type Client = ReturnType<typeof createClient>;

async function withClient<T>(url: string, use: (redis: Client) => Promise<T>): Promise<T> {
  const redis = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 1_000 } }) as unknown as Client;
  redis.on('error', () => {});
  try {
    await redis.connect();
  } catch (error) {
    throw new Error(`this test needs a real Redis at ${REDIS_URL}: ${(error as Error).message}`, { cause: error });
  }
  try {
    return await use(redis);
  } finally {
    await redis.close();
  }
}

export async function claimRedisDatabase(
  name: string,
  databases: readonly number[],
  leaseMs: number,
): Promise<ClaimedDatabase> {
  const lockKey = `${name}:lock`;
  const lockValue = randomUUID();
  for (const db of databases) {
    const url = `${REDIS_URL}/${db}`;
    const claimed = await withClient(
      url,
      async (redis) =>
        (await redis.set(lockKey, lockValue, { condition: 'NX', expiration: { type: 'PX', value: leaseMs } })) === 'OK',
    );
    if (!claimed) continue;
    const empty = () =>
      withClient(url, async (redis) => {
        for await (const keys of redis.scanIterator({ MATCH: 'gateway:*', COUNT: 500 }))
          if (keys.length > 0) await redis.del(keys);
      });
    return {
      url,
      empty,
      async release() {
        await empty();
        await withClient(url, async (redis) => {
          if ((await redis.get(lockKey)) === lockValue) await redis.del(lockKey);
        });
      },
    };
  }
  throw new Error(`no free Redis database among ${databases.join(', ')} for ${name} (all locked by other runs)`);
}
