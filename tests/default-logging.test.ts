/**
 * The shipped log level (info) writes nothing per request: the check nginx makes on every
 * request, and the other routes an app calls all the time, cost no log write. GATEWAY_ACCESS_LOG
 * turns on one compact line per request instead (observability.test.ts).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createBrowser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { startLoggedGateway, type LoggedGateway } from './helpers/logged-gateway.ts';

describe('logging at the default level', () => {
  let gw: LoggedGateway;
  before(async () => {
    gw = await startLoggedGateway();
  });
  after(async () => gw?.close());

  it('writes no line for forward-auth checks, allowed or not, nor for discovery, keys and health', async () => {
    const browser = createBrowser();
    const start = await browser.follow(`${gw.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => browser.fetch(u, init), {
      email: 'quiet@example.com',
    });
    await browser.follow(back);
    const before = gw.logs.length;
    for (let i = 0; i < 50; i += 1) {
      assert.equal((await browser.fetch(`${gw.url}/oauth2/auth`)).status, 202);
      assert.equal((await fetch(`${gw.url}/oauth2/auth`)).status, 401);
    }
    for (const path of ['/.well-known/openid-configuration', '/jwks', '/healthz', '/readyz']) {
      assert.equal((await fetch(`${gw.url}${path}`)).status, 200, path);
    }
    assert.deepEqual(gw.logs.slice(before), [], 'no log line per request');
  });
});
