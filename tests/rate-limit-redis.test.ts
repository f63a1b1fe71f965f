/**
 * Rate limits across instances: with `GATEWAY_STORE=redis://…` the counters live in that Redis
 * (the real one on 127.0.0.1:6379), so two instances behind one load balancer share one budget
 * per client address, and the counters expire with their window.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createClient } from '@keyv/redis';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { rateLimitPrefix } from '../gateway/ops/rate-limits.ts';
import { startFakeGoogle, type FakeGoogle } from './helpers/fake-google.ts';
import { startLoggedGateway, type LoggedGateway } from './helpers/logged-gateway.ts';
import { freePort, UPSTREAM_CLIENT } from './helpers/start-gateway.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';

describe('rate limits shared through Redis', () => {
  const redis = createClient({ url: REDIS_URL });
  let google: FakeGoogle;
  const gateways: LoggedGateway[] = [];
  let issuer = '';

  before(async () => {
    await redis.connect(); // fails loudly when Redis is not running
    const ports = [await freePort(), await freePort()];
    // One public issuer for both, as behind a load balancer (nothing listens on it here).
    issuer = `http://127.0.0.1:${await freePort()}`;
    google = await startFakeGoogle({ clients: [{ client_id: UPSTREAM_CLIENT.id, client_secret: UPSTREAM_CLIENT.secret, redirect_uris: [`${issuer}/upstream/callback`] }] });
    for (const port of ports) {
      gateways.push(await startLoggedGateway({
        port,
        issuer,
        fakeGoogle: google,
        // The store proper is not what this test is about; the limiter follows GATEWAY_STORE.
        store: createMemoryStore(),
        env: { GATEWAY_STORE: REDIS_URL, GATEWAY_TOKEN_RATE_LIMIT: '4' },
      }));
    }
  });

  after(async () => {
    for (const gw of gateways) await gw.close();
    await google?.close();
    const keys = await redis.keys(`${rateLimitPrefix(issuer)}*`);
    if (keys.length > 0) await redis.del(keys);
    await redis.close();
  });

  const tokenRequest = (gw: LoggedGateway) =>
    fetch(`${gw.url}/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=x&client_id=nobody' });

  it('holds one budget per address across both instances', async () => {
    const [a, b] = gateways as [LoggedGateway, LoggedGateway];
    const statuses: number[] = [];
    for (const gw of [a, b, a, b]) {
      const response = await tokenRequest(gw);
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.deepEqual(statuses, [401, 401, 401, 401]);
    for (const gw of [a, b]) {
      const limited = await tokenRequest(gw);
      assert.equal(limited.status, 429, 'the fifth request is over the shared budget, whichever instance gets it');
      assert.equal(((await limited.json()) as { error: string }).error, 'temporarily_unavailable');
    }
  });

  it('keeps the counter in Redis with the window as its expiry', async () => {
    const keys = await redis.keys(`${rateLimitPrefix(issuer)}*`);
    assert.equal(keys.length, 1, keys.join(', '));
    assert.equal(await redis.get(keys[0] ?? ''), '6');
    const ttl = await redis.pTTL(keys[0] ?? '');
    assert.ok(ttl > 0 && ttl <= 60_000, `PTTL ${ttl}`);
  });
});
