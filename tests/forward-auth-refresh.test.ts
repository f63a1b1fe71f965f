/**
 * The forward-auth cookie's refresh, when things go wrong on the way: a store outage or a
 * temporary failure of the gateway's own OpenID Provider while an expired cookie JWT is refreshed
 * answers 503 and keeps the user's session (the next check, once the store is back, refreshes and
 * passes); only `invalid_grant` (the grant is over) ends it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { StoreUnavailableError } from '../adapters/store-errors.ts';
import type { Store } from '../adapters/store.ts';
import { createBrowser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

/** A memory store whose reads of oidc-provider's records fail while `down` is set (a Redis outage, as the provider sees it). */
function flakyStore(): Store & { down: boolean } {
  const store = createMemoryStore();
  const flaky = Object.assign(Object.create(null) as object, { down: false }) as Store & { down: boolean };
  return new Proxy(store, {
    get(target, property) {
      if (property === 'down') return flaky.down;
      const value = Reflect.get(target, property, target) as unknown;
      if (property === 'get' && typeof value === 'function') {
        return (key: string) => (flaky.down && key.startsWith('oidc:') ? Promise.reject(new StoreUnavailableError('Redis did not answer GET within 1000 ms')) : (value as Store['get']).call(target, key));
      }
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
    set(_target, property, value) {
      if (property !== 'down') return false;
      flaky.down = Boolean(value);
      return true;
    },
  }) as Store & { down: boolean };
}

describe('forward-auth cookie refresh under failures', () => {
  let gw: StartedGateway;
  const store = flakyStore();

  before(async () => {
    gw = await startGateway({ store, env: { GATEWAY_ACCESS_TOKEN_TTL: '1' } });
  });
  after(async () => {
    await gw?.close();
    await store.close();
  });

  it('answers 503 and keeps the session when the refresh fails for a moment, then passes', async () => {
    const browser = createBrowser();
    const start = await browser.follow(`${gw.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => browser.fetch(u, init), { email: 'steady@example.com' });
    await browser.follow(back);
    assert.equal((await browser.fetch(`${gw.url}/oauth2/auth`)).status, 202);
    const cookieBefore = browser.cookies(`${gw.url}/`).find((c) => c.name === '_gateway_auth')?.value;
    await new Promise((resolve) => setTimeout(resolve, 1_300));

    store.down = true;
    const during = await browser.fetch(`${gw.url}/oauth2/auth`);
    store.down = false;
    assert.equal(during.status, 503, 'a temporary failure, not "signed out"');
    assert.ok(!during.headers.getSetCookie().some((line) => line.startsWith('_gateway_auth=;')), 'the cookie is not cleared');
    assert.equal(browser.cookies(`${gw.url}/`).find((c) => c.name === '_gateway_auth')?.value, cookieBefore);

    const after = await browser.fetch(`${gw.url}/oauth2/auth`);
    assert.equal(after.status, 202, 'the next check refreshes and passes: the session was kept');
    assert.notEqual(browser.cookies(`${gw.url}/`).find((c) => c.name === '_gateway_auth')?.value, cookieBefore, 'with a new cookie');
  });
});
