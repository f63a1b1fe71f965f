/**
 * The Store contract as a test suite, run once per backend: by tests/store-contract.test.ts on
 * memory, SQLite and Redis, and by tests/redis-cluster.test.ts on a real Redis Cluster. What one
 * backend must do, every backend must do.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Persistence, Store } from '../../adapters/store.ts';
import { StoreUnavailableError } from '../../adapters/store-errors.ts';
import { withLock } from '../../adapters/with-lock.ts';

/** A backend under test: how to open it, reopen its data, and remove what the suite left. */
export interface Backend {
  name: string;
  open(): Promise<Store>;
  /** Opens the same data again after close() (the durable backends). */
  reopen?(): Promise<Store>;
  /** What `persistence()` must say, when the test knows the backend's settings. */
  persistence?: Persistence['level'];
  cleanup(): Promise<void>;
}

/**
 * An assert.rejects validator: a StoreUnavailableError (503 temporarily_unavailable) whose
 * detail matches `detail`.
 */
export function unavailable(detail: RegExp = /./) {
  return (error: unknown) => {
    assert.ok(error instanceof StoreUnavailableError, `expected StoreUnavailableError, got ${String(error)}`);
    assert.equal(error.status, 503);
    assert.equal(error.error, 'temporarily_unavailable');
    assert.match(error.error_detail ?? '', detail);
    return true;
  };
}

const key = (name: string) => `${name}:${randomUUID()}`;

/** The behaviour every Store must have; run once per backend. */
export function storeContract(backend: Backend): void {
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

    it('says what a restart of it keeps', async () => {
      const { level, detail } = await s().persistence();
      assert.ok(['durable', 'snapshots', 'none', 'unknown'].includes(level), level);
      assert.ok(detail.length > 0);
      if (backend.persistence !== undefined) assert.equal(level, backend.persistence, detail);
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
      await assert.rejects(
        s().setIfAbsent(k, () => 1),
        TypeError,
      );
      await assert.rejects(s().setIfAbsent(k, 'v', 0), RangeError);
      await assert.rejects(s().addToSet(k, 'm', -5), RangeError);
      await assert.rejects(s().set(k, 'v', Number.NaN), RangeError);
      assert.equal(await s().get(k), undefined);
    });

    it('setIfAbsent: of 20 parallel callers exactly one wins, and its value stays', async () => {
      const k = key('nx');
      const results = await Promise.all(
        Array.from({ length: 20 }, (_, i) => s().setIfAbsent(k, { caller: i }, 60_000)),
      );
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

    it('getMany: values in the order asked, undefined for absent or expired ones, copies', async () => {
      assert.deepEqual(await s().getMany([]), []);
      // 30 keys: on a cluster they spread over every master (one MGET per slot).
      const keys = Array.from({ length: 30 }, (_, i) => key(`many-${i}`));
      const values = keys.map((_, i) => (i % 3 === 0 ? undefined : { i, list: [] as number[] }));
      await Promise.all(keys.map((k, i) => (values[i] === undefined ? undefined : s().set(k, values[i], 60_000))));
      assert.deepEqual(await s().getMany(keys), values);
      const [short, kept, nothing] = [key('many-short'), key('many-kept'), key('many-null')];
      await s().set(short, 'short', 80);
      await s().set(kept, [1, 'two']);
      await s().set(nothing, null);
      await sleep(200);
      assert.deepEqual(await s().getMany([short, kept, nothing, short]), [undefined, [1, 'two'], null, undefined]);
      const [copy] = await s().getMany<number[]>([kept]);
      copy?.push(3);
      assert.deepEqual(await s().get(kept), [1, 'two']);
    });

    it('setIfAbsentWithOwner writes only beside a live owner, once, and expires with it', async () => {
      for (const [owner, k] of [
        [key('owner'), key('owned')],
        // One hash tag: on a cluster both share a slot, so the one-script path runs.
        ...(() => {
          const tag = randomUUID();
          return [[`owner:{${tag}}`, `owned:{${tag}}`]];
        })(),
      ] as Array<[string, string]>) {
        assert.equal(await s().setIfAbsentWithOwner(k, 1, owner, 60_000), false, 'no owner: nothing written');
        assert.equal(await s().get(k), undefined);
        await s().set(owner, { record: true }, 150);
        const results = await Promise.all(
          Array.from({ length: 20 }, (_, i) => s().setIfAbsentWithOwner(k, { caller: i }, owner, 60_000)),
        );
        assert.equal(results.filter(Boolean).length, 1, 'of 20 parallel callers exactly one wins');
        assert.deepEqual(await s().get(k), { caller: results.indexOf(true) });
        await sleep(300);
        assert.equal(await s().get(owner), undefined);
        assert.equal(await s().get(k), undefined, 'it expired with its owner, not after its own 60 s');
        assert.equal(await s().setIfAbsentWithOwner(k, 2, owner, 60_000), false, 'an expired owner is no owner');
      }
      const [owner, k] = [key('owner-forever'), key('owned-ttl')];
      await s().set(owner, 'forever');
      assert.equal(await s().setIfAbsentWithOwner(k, 'marker', owner, 80), true);
      assert.equal(await s().setIfAbsentWithOwner(k, 'again', owner, 80), false);
      await sleep(200);
      assert.equal(await s().get(k), undefined, 'an owner that never expires: the TTL given');
      assert.equal(await s().get(owner), 'forever');
      await assert.rejects(s().setIfAbsentWithOwner(k, undefined, owner, 80), TypeError);
      await assert.rejects(s().setIfAbsentWithOwner(k, 'v', owner, 0), RangeError);
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

    it('increment: 50 parallel increments each see a different count, in a fixed window', async () => {
      const k = key('counter');
      const counts = await Promise.all(Array.from({ length: 50 }, () => s().increment(k, 300)));
      assert.deepEqual(
        [...counts].sort((a, b) => a - b),
        Array.from({ length: 50 }, (_, i) => i + 1),
      );
      assert.equal(await s().get(k), 50, 'a counter reads back as a number');
      await sleep(150);
      assert.equal(await s().increment(k, 60_000), 51, 'a later increment does not extend the window');
      await sleep(250);
      assert.equal(await s().increment(k, 60_000), 1, 'an expired counter starts again');
      await assert.rejects(s().increment(key('bad'), 0), RangeError);
    });

    it('extendIfValue renews a key only while it holds the expected value', async () => {
      const k = key('lease');
      assert.equal(await s().extendIfValue(k, 'mine', 1_000), false, 'absent');
      await s().setIfAbsent(k, 'mine', 200);
      assert.equal(await s().extendIfValue(k, 'theirs', 1_000), false, 'another value');
      assert.equal(await s().extendIfValue(k, 'mine', 600), true);
      await sleep(350);
      assert.equal(await s().get(k), 'mine', 'alive past its first expiry');
      await sleep(400);
      assert.equal(await s().get(k), undefined, 'and gone after the renewed one');
      assert.equal(await s().extendIfValue(k, 'mine', 1_000), false, 'an expired key is not brought back');
    });

    it('carries withLock: 5 parallel holders never overlap, and the lock is released', async () => {
      const lock = key('lock');
      let inside = 0;
      let most = 0;
      const order = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          withLock(
            s(),
            lock,
            async () => {
              inside += 1;
              most = Math.max(most, inside);
              await sleep(5);
              inside -= 1;
              return i;
            },
            { leaseMs: 5_000, waitMs: 5_000 },
          ),
        ),
      );
      assert.equal(most, 1);
      assert.deepEqual(
        [...order].sort((a, b) => a - b),
        [0, 1, 2, 3, 4],
      );
      assert.equal(await s().get(lock), undefined);
    });

    it('carries withLock: a holder that died frees the lock within one lease, a live one keeps it', async () => {
      const lock = key('lease-lock');
      // A holder that died: its lease is in the store and nobody renews it.
      await s().setIfAbsent(lock, 'dead-holder', 300);
      const started = Date.now();
      assert.equal(await withLock(s(), lock, async () => 'next', { leaseMs: 300, waitMs: 5_000 }), 'next');
      assert.ok(Date.now() - started < 2_000, 'the next holder did not wait out a long timeout');
      // A live holder keeps renewing past its first lease: a waiter with a short patience gives up.
      let release!: () => void;
      const holding = withLock(s(), lock, () => new Promise<void>((resolve) => (release = resolve)), {
        leaseMs: 150,
        waitMs: 5_000,
      });
      await sleep(50);
      await assert.rejects(
        withLock(s(), lock, async () => 'too soon', { leaseMs: 150, waitMs: 500 }),
        /timed out/,
      );
      release();
      await holding;
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
      await assert.rejects(closing.get('x'), unavailable(/closed/));
      await assert.rejects(closing.getMany(['x', 'y']), unavailable(/closed/));
      await assert.rejects(closing.setIfAbsentWithOwner('x', 1, 'y', 1_000), unavailable(/closed/));
      await assert.rejects(closing.ping(), unavailable(/closed/));
      await closing.close(); // twice is fine
    });
  });
}
