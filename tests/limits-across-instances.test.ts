/**
 * Failure-based limits across instances: two gateways behind one load balancer share one Redis,
 * so failures counted on either add up, a refusal decided on one is known to the other at once
 * (without a store round trip on its side), and the counter expires with its window.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../adapters/store.ts';
import { startFakeGoogle, type FakeGoogle } from './helpers/fake-google.ts';
import { startLoggedGateway, type LoggedGateway } from './helpers/logged-gateway.ts';
import { confidentialClient } from './helpers/relying-party.ts';
import { sharedRedis } from './helpers/shared-redis.ts';
import { freePort, UPSTREAM_CLIENT } from './helpers/start-gateway.ts';

describe('failure-based limits shared through Redis', () => {
  const redis = sharedRedis('limits');
  const meta = confidentialClient('shared-limit-app');
  let google: FakeGoogle;
  const gateways: LoggedGateway[] = [];
  const stores: Store[] = [];

  before(async () => {
    const issuer = `http://127.0.0.1:${await freePort()}`;
    google = await startFakeGoogle({
      clients: [
        {
          client_id: UPSTREAM_CLIENT.id,
          client_secret: UPSTREAM_CLIENT.secret,
          redirect_uris: [`${issuer}/upstream/callback`],
        },
      ],
    });
    for (let i = 0; i < 2; i += 1) {
      const store = await redis.open();
      stores.push(store);
      gateways.push(
        await startLoggedGateway({ port: await freePort(), issuer, fakeGoogle: google, store, clients: [meta] }),
      );
    }
  });

  after(async () => {
    for (const gw of gateways) await gw.close();
    for (const store of stores) await store.close();
    await google?.close();
    await redis.cleanup();
  });

  const guess = (gw: LoggedGateway, secret: string) =>
    fetch(`${gw.url}/token/introspection`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${meta.client_id}:${secret}`).toString('base64')}`,
        'x-forwarded-for': '198.51.100.40',
      },
      body: 'token=x',
    });

  it('adds up the failures of both instances, and both refuse once either decides', async () => {
    const [a, b] = gateways as [LoggedGateway, LoggedGateway];
    const statuses: number[] = [];
    for (let i = 0; i < 20; i += 1) {
      const response = await guess(i % 2 === 0 ? a : b, `wrong-${i}`);
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.deepEqual(new Set(statuses), new Set([401]), 'twenty failures spread over both: none refused yet');
    const over = await guess(a, 'wrong-21');
    assert.equal(over.status, 429, 'the 21st failure, on A, is over the shared limit');
    await over.body?.cancel();
    // B heard of it (the store's channel) and refuses without asking the store.
    let refusedAtB = 0;
    for (let i = 0; i < 20 && refusedAtB === 0; i += 1) {
      const response = await guess(b, 'wrong-at-b');
      if (response.status === 429) refusedAtB += 1;
      await response.body?.cancel();
      if (refusedAtB === 0) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.equal(refusedAtB, 1);
  });

  it('keeps each counter in Redis with the failure window as its expiry', async () => {
    const keys = (await redis.keys()).filter((key) => key.includes('regulation:client_failures'));
    assert.equal(keys.length, 1, keys.join(', '));
    assert.match(keys[0] ?? '', /shared-limit-app/);
  });
});
