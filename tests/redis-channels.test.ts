/**
 * The Redis store's announcements (client changes, sign-outs) stay within the database the store
 * uses: Redis pub/sub channels belong to the whole server, so gateways on two databases of one
 * Redis (a shared Redis, separate environments) heard each other before. Needs the real Redis at
 * REDIS_URL (default redis://127.0.0.1:6379); writes no keys.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createRedisStore } from '../adapters/redis-store.ts';
import type { Store } from '../adapters/store.ts';

const REDIS_URL = (process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379').replace(/\/\d*$/, '');

async function open(db: number, prefix: string): Promise<Store> {
  try {
    return await createRedisStore(`${REDIS_URL}/${db}`, { prefix });
  } catch (error) {
    throw new Error(`these tests need a real Redis at ${REDIS_URL} (set REDIS_URL): ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The messages `store` hears on `channel` within `ms`. */
async function heard(store: Store, channel: string, send: () => Promise<void>, ms = 300): Promise<string[]> {
  const messages: string[] = [];
  const unsubscribe = await store.subscribe(channel, (message) => messages.push(message));
  try {
    await send();
    await new Promise((resolve) => setTimeout(resolve, ms));
  } finally {
    await unsubscribe();
  }
  return messages;
}

describe('Redis store announcements stay in their database', () => {
  const prefix = `test-channels-${randomUUID()}:`;
  const stores: Store[] = [];
  let db0: Store;
  let db11: Store;
  let db11b: Store;
  let db12: Store;
  before(async () => {
    db0 = await open(0, prefix);
    db11 = await open(11, prefix);
    db11b = await open(11, prefix);
    db12 = await open(12, prefix);
    stores.push(db0, db11, db11b, db12);
  });
  after(async () => {
    for (const store of stores) await store.close();
  });

  it('reaches every store on the same database, and none on another', async () => {
    const here = await heard(db11b, 'clients:changed', () => db11.publish('clients:changed', 'app-1'));
    assert.deepEqual(here, ['app-1'], 'the same database hears it');
    const elsewhere = await heard(db12, 'clients:changed', () => db11.publish('clients:changed', 'app-2'));
    assert.deepEqual(elsewhere, [], 'another database does not');
    const fromZero = await heard(db11, 'clients:changed', () => db0.publish('clients:changed', 'app-3'));
    assert.deepEqual(fromZero, [], 'database 0 does not reach database 11');
  });

  it('keeps database 0 on the channel names earlier versions used', async () => {
    const plain = await heard(db0, 'clients:changed', async () => {
      await db0.publish('clients:changed', 'app-4');
    });
    assert.deepEqual(plain, ['app-4']);
    // A subscriber of an earlier version listened on `<prefix>clients:changed` itself.
    const { createClient } = await import('@keyv/redis');
    const raw = createClient({ url: REDIS_URL });
    await raw.connect();
    try {
      const messages: string[] = [];
      await raw.subscribe(`${prefix}clients:changed`, (message: string) => messages.push(message));
      await db0.publish('clients:changed', 'app-5');
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.deepEqual(messages, ['app-5']);
    } finally {
      await raw.quit();
    }
  });
});
