/**
 * The store's data key (gateway/keys/data-key.ts): generated once even by instances starting
 * together, wrapped by the first GATEWAY_SECRETS entry and opened by any, re-wrapped under the
 * first after a rotation (also by two instances at once), never opened by a secret not listed,
 * and never kept in clear. The sealing derived from it (store-sealing.ts) follows the data key.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createMemoryStore } from '../../../../adapters/memory-store.ts';
import { DataKeyError, loadDataKey } from '../../../../gateway/keys/data-key.ts';
import { createStoreSealing } from '../../../../gateway/keys/store-sealing.ts';

const OLD = 'data-key-test-old-secret-0123456789abcdef';
const NEW = 'data-key-test-new-secret-0123456789abcdef';

describe("the store's data key", () => {
  it('is generated once when instances start together, and never kept in clear', async () => {
    const map = new Map<string, string>();
    const store = createMemoryStore({ map });
    const loaded = await Promise.all(Array.from({ length: 5 }, () => loadDataKey(store, [OLD])));
    const keys = new Set(loaded.map(({ key }) => key.toString('base64url')));
    assert.equal(keys.size, 1, 'every instance got the same key');
    const [key = ''] = keys;
    assert.equal(Buffer.from(key, 'base64url').length, 32);
    assert.ok(![...map].some(([name, text]) => name.includes(key) || text.includes(key)), 'only its wrap is stored');
    assert.equal((await loadDataKey(store, [OLD])).key.toString('base64url'), key, 'a restart reads the same one');
    await store.close();
  });

  it('survives a GATEWAY_SECRETS rotation: re-wrapped under the new secret, then opened without the old one', async () => {
    const store = createMemoryStore();
    const { key } = await loadDataKey(store, [OLD]);
    // Two instances restarted with the new secret first re-wrap at the same moment.
    const rotated = await Promise.all([loadDataKey(store, [NEW, OLD]), loadDataKey(store, [NEW, OLD])]);
    for (const { key: same, rewrapped } of rotated) {
      assert.deepEqual(same, key);
      assert.equal(rewrapped, true);
    }
    const afterDrop = await loadDataKey(store, [NEW]);
    assert.deepEqual(afterDrop.key, key, 'the old secret may go');
    assert.equal(afterDrop.rewrapped, false);
    await assert.rejects(loadDataKey(store, [OLD]), DataKeyError, 'a dropped secret no longer opens it');
    await store.close();
  });

  it('refuses a secret that never wrapped it, and generates no other key in its place', async () => {
    const store = createMemoryStore();
    const { key } = await loadDataKey(store, [OLD]);
    await assert.rejects(loadDataKey(store, ['wrong-secret-0123456789abcdef0123456789']), {
      name: 'DataKeyError',
      message: /no GATEWAY_SECRETS entry opens the store's data key/,
    });
    assert.deepEqual((await loadDataKey(store, [OLD])).key, key);
    await store.close();
  });

  it('gives a sealing whose seals and hashes follow the data key', async () => {
    const store = createMemoryStore();
    const one = createStoreSealing((await loadDataKey(store, [OLD])).key);
    const again = createStoreSealing((await loadDataKey(store, [NEW, OLD])).key);
    const otherStore = createMemoryStore();
    const other = createStoreSealing((await loadDataKey(otherStore, [OLD])).key);
    assert.equal(again.hashId('token-id'), one.hashId('token-id'), 'one id, one name, across restarts and rotations');
    assert.match(one.hashId('token-id'), /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(other.hashId('token-id'), one.hashId('token-id'), 'another store, other names');
    assert.deepEqual(again.open(one.seal({ refresh_token: 'r' })), { refresh_token: 'r' });
    assert.equal(other.open(one.seal({ refresh_token: 'r' })), undefined);
    await Promise.all([store.close(), otherStore.close()]);
  });
});
