/**
 * Redis Cluster as the store: a REAL local cluster of 3 masters (Debian's redis-server on free
 * 127.0.0.1 ports in a temp directory, formed by tests/helpers/redis-server.ts and torn down
 * after), held to the same Store contract and oidc Adapter suites as every other backend. Then
 * what only a cluster can get wrong: the keys really spread over the masters (no CROSSSLOT, no
 * accidental hash tag pinning them to one), the URL form, and a master going away and coming back.
 * A missing redis-server fails this file; it never skips.
 */
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@keyv/redis';
import { openStore } from '../adapters/open-store.ts';
import { createOidcAdapter } from '../adapters/oidc-adapter.ts';
import { createRedisStore } from '../adapters/redis-store.ts';
import { parseRedisUrl } from '../config/redis-url.ts';
import { createStoreSealing } from '../gateway/keys/store-sealing.ts';
import { adapterSuite } from './helpers/oidc-adapter-suite.ts';
import { startRedisCluster } from './helpers/redis-server.ts';
import { storeContract, unavailable, type Backend } from './helpers/store-contract-suite.ts';

const startedAt = performance.now();
const cluster = await startRedisCluster({ masters: 3 });
const clusterUpMs = Math.round(performance.now() - startedAt);
after(async () => {
  await cluster.close();
  process.stderr.write(
    `# redis cluster: up in ${clusterUpMs} ms, whole file ${Math.round(performance.now() - startedAt)} ms\n`,
  );
});

function clusterBackend(label: string): Backend {
  const prefix = `test:${label}:${randomUUID()}:`;
  // The cluster is thrown away after this file: nothing to clean up key by key.
  // The helper's servers keep nothing on disk (`save ""`, no AOF).
  return {
    name: 'redis-cluster',
    open: () => createRedisStore(cluster.url, { prefix }),
    reopen: () => createRedisStore(cluster.url, { prefix }),
    cleanup: async () => {},
    persistence: 'none',
  };
}

storeContract(clusterBackend('store'));
adapterSuite(clusterBackend('oidc'));

/** How many keys each master holds. */
async function keysPerMaster(): Promise<number[]> {
  return Promise.all(
    cluster.nodes.map(async (node) => {
      const client = createClient({ url: node.url, socket: { reconnectStrategy: false } });
      client.on('error', () => {});
      await client.connect();
      try {
        return await client.dbSize();
      } finally {
        client.destroy();
      }
    }),
  );
}

describe('Redis Cluster specifics', () => {
  it('opens redis+cluster:// through openStore, starting from any one node', async () => {
    const [first] = cluster.nodes;
    const store = await openStore(`redis+cluster://127.0.0.1:${first?.port}`, { prefix: `test:open:${randomUUID()}:` });
    try {
      assert.equal(store.kind, 'redis-cluster');
      await store.set('k', 'v');
      assert.equal(await store.get('k'), 'v');
      await store.ping();
    } finally {
      await store.close();
    }
  });

  it("spreads one grant's records over every master, and revocation still finds them all", async () => {
    const store = await createRedisStore(cluster.url, { prefix: `test:spread:${randomUUID()}:` });
    try {
      const before = await keysPerMaster();
      const adapterFor = createOidcAdapter(store, createStoreSealing(randomBytes(32)));
      const grantId = randomUUID();
      const ids = Array.from({ length: 30 }, () => randomUUID());
      await Promise.all(
        ids.map((id) =>
          adapterFor('AccessToken').upsert(id, { grantId, kind: 'AccessToken', accountId: 'a', clientId: 'c' }, 60),
        ),
      );
      const grew = (await keysPerMaster()).map((n, i) => n - (before[i] ?? 0));
      assert.ok(
        grew.every((n) => n > 0),
        `every master got some of the grant's keys: ${grew.join(', ')}`,
      );
      await adapterFor('AccessToken').revokeByGrantId(grantId);
      const left = await Promise.all(ids.map((id) => adapterFor('AccessToken').find(id)));
      assert.deepEqual(left.filter(Boolean), []);
    } finally {
      await store.close();
    }
  });

  it('parses the URL: several nodes, user and password (never echoed), TLS, no database number', () => {
    const target = parseRedisUrl('rediss+cluster://app:p%40ss@10.0.0.1:7000,[::1]:7001,redis-3/');
    assert.equal(target.cluster, true);
    assert.equal(target.tls, true);
    assert.equal(target.username, 'app');
    assert.equal(target.password, 'p@ss');
    assert.deepEqual(target.nodes, [
      { host: '10.0.0.1', port: 7000 },
      { host: '::1', port: 7001 },
      { host: 'redis-3', port: 6379 },
    ]);
    assert.equal(target.where, 'rediss+cluster://10.0.0.1:7000,[::1]:7001,redis-3:6379');
    assert.throws(
      () => parseRedisUrl('redis+cluster://u:hunter2@h:1/2'),
      (error: Error) => {
        assert.match(error.message, /only database 0/);
        assert.doesNotMatch(error.message, /hunter2/);
        return true;
      },
    );
    assert.throws(
      () => parseRedisUrl('redis+cluster://u:hunter2@h:99999'),
      (error: Error) => !error.message.includes('hunter2'),
    );
    assert.throws(
      () => parseRedisUrl('redis+cluster://u:hunter2@'),
      (error: Error) => !error.message.includes('hunter2'),
    );
    assert.equal(parseRedisUrl('redis://:pw@127.0.0.1:6380/3').where, 'redis://127.0.0.1:6380/3');
  });

  it('fails to open within a few seconds when no node answers, without leaking the password', async () => {
    const started = performance.now();
    await assert.rejects(createRedisStore('redis+cluster://u:s3cret@127.0.0.1:1,127.0.0.1:2'), (error: Error) => {
      assert.match(
        error.message,
        /cannot connect to the Redis Cluster at redis\+cluster:\/\/127\.0\.0\.1:1,127\.0\.0\.1:2/,
      );
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
    assert.ok(performance.now() - started < 5_000);
  });

  // Last: it takes a master away (and its data, which this cluster does not persist).
  it('a master going away fails ping within 1 s; it serves again once the master is back', async () => {
    const store = await createRedisStore(cluster.url, { prefix: `test:down:${randomUUID()}:` });
    const victim = cluster.nodes[1];
    assert.ok(victim);
    try {
      await store.ping();
      await victim.stop();
      const started = performance.now();
      await assert.rejects(store.ping(), unavailable());
      const ms = performance.now() - started;
      assert.ok(ms < 1_100, `ping took ${Math.round(ms)} ms with a master down`);
      await victim.start();
      const deadline = Date.now() + 8_000;
      for (;;) {
        try {
          await store.ping();
          await store.set('after', 'ok');
          break;
        } catch (error) {
          if (Date.now() > deadline) throw error;
          await sleep(100);
        }
      }
      assert.equal(await store.get('after'), 'ok');
    } finally {
      await store.close();
    }
  });
});
