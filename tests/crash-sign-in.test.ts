/**
 * A sign-in in flight on an instance that dies: the user gets a page that starts again, a link
 * that works, never a 500 or a loop.
 *
 * Two instances on one Redis (one issuer, as behind a load balancer): the survivor in this
 * process, the other a real `node gateway/main.ts` process killed with SIGKILL. Requests are sent
 * to the one a test names, as a balancer would route them; cookies are shared, as one browser's.
 *
 * - Dead mid-callback: the instance has taken the upstream transaction (single use) and waits on
 *   Google's token endpoint when it is killed. The browser retries the same callback on the
 *   survivor: the transaction is used, so the answer is a refusal page, but with a "Try again"
 *   link, and following it signs the user in (one more trip to Google), code and tokens included.
 * - Dead after sending the browser to Google: the interaction and the transaction it started are
 *   in the store, so the callback on the survivor just finishes the sign-in.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.ts';
import { startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { confidentialClient, discoverApp, redeem, startAuthorization, type TestApp } from './helpers/relying-party.ts';
import { startGateway, TEST_SECRET, UPSTREAM_CLIENT, type StartedGateway } from './helpers/start-gateway.ts';

describe('a sign-in in flight on an instance that is killed', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-crash-sign-in-'));
  const meta = confidentialClient('crash-sign-in-app');
  let redis: RedisServer;
  let survivor: StartedGateway;
  let app: TestApp;
  let env: Record<string, string>;
  const doomed: GatewayProcess[] = [];

  before(async () => {
    redis = await startRedisServer();
    const clientsFile = join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([meta]));
    env = { GATEWAY_STORE: redis.url, GATEWAY_CLIENTS_FILE: clientsFile };
    survivor = await startGateway({ env });
    app = await discoverApp(survivor.issuer, meta);
  });
  after(async () => {
    for (const gw of doomed) await gw.kill();
    await survivor?.close();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Another instance behind the same issuer, as its own process, to be killed. */
  const startDoomed = async () => {
    const gw = await startGatewayProcess({
      ...env,
      GATEWAY_ISSUER: survivor.issuer,
      GATEWAY_SECRETS: TEST_SECRET,
      UPSTREAM_ISSUER: survivor.google.issuer,
      UPSTREAM_CLIENT_ID: UPSTREAM_CLIENT.id,
      UPSTREAM_CLIENT_SECRET: UPSTREAM_CLIENT.secret,
    });
    doomed.push(gw);
    return gw;
  };
  /** `url` sent to the instance at `via` (the balancer's choice); a URL elsewhere is left alone. */
  const routed = (url: URL, via: string) =>
    url.origin === survivor.issuer ? new URL(`${url.pathname}${url.search}`, via) : url;
  /** Follows redirects as a browser, every gateway request going to `via`, until `stop`. */
  const walk = async (browser: Browser, from: URL, via: string, stop: (url: URL) => boolean) => {
    let url = from;
    for (let hop = 0; hop < 20; hop += 1) {
      const response = await browser.fetch(routed(url, via));
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) return { response, url };
      await response.body?.cancel();
      const next = new URL(location, survivor.issuer);
      if (stop(next)) return { response, url: next };
      url = next;
    }
    throw new Error(`more than 20 redirects from ${from.pathname}: a loop`);
  };
  const atGoogle = (url: URL) => url.origin === survivor.google.issuer;
  const atApp = (url: URL) => url.href.startsWith(meta.redirect_uris[0] ?? '');

  it('killed while exchanging the code: the retried callback offers a link that signs the user in', async () => {
    const google = survivor.google;
    const gw = await startDoomed();
    const browser = createBrowser();
    const start = await startAuthorization(app);
    const toGoogle = await walk(browser, start.url, survivor.url, atGoogle);
    assert.ok(atGoogle(toGoogle.url), 'sent to Google');
    const callback = new URL(
      await signInAtFakeGoogle(toGoogle.url.href, (url, init) => browser.fetch(url, init), {
        email: 'inflight@example.com',
      }),
    );

    // The callback lands on the doomed instance, which takes the transaction and calls Google's
    // token endpoint, which never answers; then the instance is killed.
    google.holdTokenRequests = 1;
    const cut = browser.fetch(routed(callback, gw.url)).catch(() => undefined);
    while (google.heldTokenRequests === 0) await sleep(20);
    await gw.kill();
    await cut;

    // The browser retries the callback (a balancer retrying on the survivor, or the user reloading).
    const retry = await browser.fetch(routed(callback, survivor.url));
    assert.ok(retry.status < 500, `never a 500 (got ${retry.status})`);
    assert.equal(retry.status, 400);
    const page = await retry.text();
    assert.match(retry.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(page, /Please start again/);
    const href = /<a class="button" href="([^"]+)"/.exec(page)?.[1]?.replaceAll('&amp;', '&');
    assert.ok(href, 'the page links to a new start');

    // The link: the app's authorization request resumed, which goes to Google again (a new state),
    // and from there back to the app with a code the app redeems.
    const again = await walk(browser, new URL(href, survivor.issuer), survivor.url, atGoogle);
    assert.ok(atGoogle(again.url), 'the link starts a new sign-in at Google');
    const back = new URL(
      await signInAtFakeGoogle(again.url.href, (url, init) => browser.fetch(url, init), {
        email: 'inflight@example.com',
      }),
    );
    assert.notEqual(back.searchParams.get('state'), callback.searchParams.get('state'), 'a new transaction');
    const done = await walk(browser, back, survivor.url, atApp);
    assert.ok(atApp(done.url), `back at the app (stopped at ${done.url.pathname}, HTTP ${done.response.status})`);
    const tokens = await redeem(app, start, done.url);
    assert.equal(tokens.claims()?.['email'], 'inflight@example.com');
  });

  it('killed after sending the browser to Google: the callback on the other instance finishes the sign-in', async () => {
    const gw = await startDoomed();
    const browser = createBrowser();
    const start = await startAuthorization(app);
    // The authorization request and the interaction are served by the doomed instance.
    const toGoogle = await walk(browser, start.url, gw.url, atGoogle);
    assert.ok(atGoogle(toGoogle.url));
    await gw.kill();
    const callback = await signInAtFakeGoogle(toGoogle.url.href, (url, init) => browser.fetch(url, init), {
      email: 'orphan@example.com',
    });
    const done = await walk(browser, new URL(callback), survivor.url, atApp);
    assert.ok(atApp(done.url), `back at the app (stopped at ${done.url.pathname}, HTTP ${done.response.status})`);
    const tokens = await redeem(app, start, done.url);
    assert.equal(tokens.claims()?.['email'], 'orphan@example.com');
  });
});
