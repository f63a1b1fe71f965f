/**
 * The forward-auth cookie's refresh, when things go wrong on the way: a store outage or a
 * temporary failure of the gateway's own OpenID Provider while an expired cookie JWT is refreshed
 * answers 503 and keeps the user's session (the next check, once the store is back, refreshes and
 * passes); only `invalid_grant` (the grant is over) ends it. And a refresh cut off between the
 * OpenID Provider's answer and the session's update (an instance that dies there) loses nothing:
 * the refresh token is not rotated, so the session still holds a working one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { faultyStore, firstOf } from './helpers/faulty-store.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

async function signInForwardAuth(gw: StartedGateway, email: string): Promise<Browser> {
  const browser = createBrowser();
  const start = await browser.follow(`${gw.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
  const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => browser.fetch(u, init), { email });
  await browser.follow(back);
  return browser;
}

describe('forward-auth cookie refresh under failures', () => {
  let gw: StartedGateway;
  const faults = faultyStore();

  before(async () => {
    // 2 s cookie tokens, so a check 2.3 s later refreshes; a grace shorter than the waits below.
    // (Not 1 s: `exp` is in whole seconds, so a 1 s token issued late in a second can expire
    // before the sign-in that received it has finished, and the test fails on a loaded machine.)
    gw = await startGateway({
      store: faults.store,
      env: { GATEWAY_ACCESS_TOKEN_TTL: '2', GATEWAY_REFRESH_GRACE: '1' },
    });
  });
  after(async () => {
    await gw?.close();
    await faults.store.close();
  });

  it('answers 503 and keeps the session when the refresh fails for a moment, then passes', async () => {
    const browser = await signInForwardAuth(gw, 'steady@example.com');
    assert.equal((await browser.fetch(`${gw.url}/oauth2/auth`)).status, 202);
    const cookieBefore = browser.cookies(`${gw.url}/`).find((c) => c.name === '_gateway_auth')?.value;
    await new Promise((resolve) => setTimeout(resolve, 2_300));

    // A Redis outage, as the provider sees it: its records cannot be read.
    const restore = faults.fail((method, key) => method === 'get' && key.startsWith('oidc:'));
    const during = await browser.fetch(`${gw.url}/oauth2/auth`);
    restore();
    assert.equal(during.status, 503, 'a temporary failure, not "signed out"');
    assert.ok(
      !during.headers.getSetCookie().some((line) => line.startsWith('_gateway_auth=;')),
      'the cookie is not cleared',
    );
    assert.equal(browser.cookies(`${gw.url}/`).find((c) => c.name === '_gateway_auth')?.value, cookieBefore);

    const after = await browser.fetch(`${gw.url}/oauth2/auth`);
    assert.equal(after.status, 202, 'the next check refreshes and passes: the session was kept');
    assert.notEqual(
      browser.cookies(`${gw.url}/`).find((c) => c.name === '_gateway_auth')?.value,
      cookieBefore,
      'with a new cookie',
    );
  });

  it("answers a page's parallel checks with the expired cookie from one refresh, and their repeats too", async () => {
    const browser = await signInForwardAuth(gw, 'parallel@example.com');
    const value = browser.cookies(`${gw.url}/`).find((c) => c.name === '_gateway_auth')?.value;
    const cookie = `_gateway_auth=${value}`;
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    // A match that only counts: how often a check took the store's refresh lock.
    let locked = 0;
    const stopCounting = faults.fail((method, key) => {
      if (method === 'setIfAbsent' && key.startsWith('lock:fa-refresh:')) locked += 1;
      return false;
    });
    try {
      const check = async () => {
        const response = await fetch(`${gw.url}/oauth2/auth`, { headers: { cookie } });
        await response.body?.cancel();
        return { status: response.status, renewed: response.headers.getSetCookie()[0]?.split(';')[0] };
      };
      // 50 at once (a page's assets), then 50 more from a browser that has not stored the answer yet
      const answers = await Promise.all(Array.from({ length: 50 }, check));
      for (let i = 0; i < 50; i += 1) answers.push(await check());
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([202]));
      const renewed = new Set(answers.map((a) => a.renewed));
      assert.equal(renewed.size, 1, 'one new cookie for all of them');
      assert.ok(![...renewed][0]?.endsWith(value ?? ''), 'a new one');
      assert.equal(locked, 1, 'the store lock was taken once, not once per check');
    } finally {
      stopCounting();
    }
  });

  it("loses nothing when cut off between the refresh and the session's update, even past the grace", async () => {
    const browser = await signInForwardAuth(gw, 'cut-off@example.com');
    const check = async () => {
      const response = await browser.fetch(`${gw.url}/oauth2/auth`);
      await response.body?.cancel();
      return response.status;
    };
    assert.equal(await check(), 202);
    await new Promise((resolve) => setTimeout(resolve, 2_300));

    const restore = faults.fail(firstOf((method, key) => method === 'set' && key.startsWith('fa-session:')));
    const cut = await check();
    restore();
    assert.equal(cut, 503, "the refresh went through, the session's update did not");
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // past the grace: a rotated token would now be reuse
    assert.equal(await check(), 202, 'the session still holds a working refresh token');
  });
});

describe('forward-auth sessions of one sign-in are bounded', () => {
  let gw: StartedGateway;
  const map = new Map<string, string>();
  const store = createMemoryStore({ map });

  before(async () => {
    gw = await startGateway({ store });
  });
  after(async () => {
    await gw?.close();
    await store.close();
  });

  it('keeps at most 50 forward-auth sessions, and their refresh tokens, however often one browser signs in', async () => {
    const browser = createBrowser();
    const start = await browser.follow(`${gw.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => browser.fetch(u, init), {
      email: 'looper@example.com',
    });
    await browser.follow(back);
    // The same SSO session signs in to forward auth again and again, dropping the cookie each time.
    for (let i = 0; i < 60; i += 1) {
      browser.setCookie(`${gw.url}/`, '_gateway_auth=; Max-Age=0; Path=/');
      const again = await browser.follow(`${gw.url}/oauth2/start?rd=/`);
      assert.equal(again.response.status, 404, 'back at rd (nothing is served at / here), signed in without Google');
      await again.response.body?.cancel();
    }
    assert.equal((await browser.fetch(`${gw.url}/oauth2/auth`)).status, 202, 'the latest session works');
    const sessions = [...map.keys()].filter((key) => key.startsWith('fa-session:')).length;
    const refreshTokens = [...map.keys()].filter((key) => key.startsWith('oidc:RefreshToken:')).length;
    assert.ok(sessions <= 50, `${sessions} forward-auth sessions kept`);
    assert.ok(refreshTokens <= 51, `${refreshTokens} refresh tokens kept`);
  });
});
