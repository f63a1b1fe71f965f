/**
 * Access rules per path, method and network (`GATEWAY_HOST_RULES` with `path`, `methods`,
 * `allow: public`, `trusted_networks`) through the shipped nginx config, which sends the page's
 * URI and method (X-Original-URI, X-Original-Method) with each check. Its one-second cache of 202s
 * keys on the host and the user only, so the gateway marks every answer for a host with such
 * rules as not to be kept (X-Gateway-No-Cache). nginx passes the URI as the client wrote it, so a
 * spelling of a stricter path (`/%72eports`) must meet the stricter rule.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { request } from 'node:http';
import { createBrowser, loopbackDispatcher, type Browser } from './helpers/browser.ts';
import { startEchoApp } from './helpers/echo-app.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { shippedNginxConfig, startNginx, type RunningNginx } from './helpers/nginx.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

interface Echo {
  path: string;
  headers: Record<string, string>;
}

/** A request to nginx with its target as written (no URL parsing), from `localAddress`: its status. */
function rawStatus(
  port: number,
  host: string,
  path: string,
  method: string,
  cookie = '',
  localAddress = '127.0.0.1',
): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { host, accept: 'application/json' };
    if (cookie) headers['cookie'] = cookie;
    const req = request({ host: '127.0.0.1', port, path, method, localAddress, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The same from 127.0.0.2: another client address on this machine. */
const statusFromSecondAddress = (port: number, host: string, path: string, method: string) =>
  rawStatus(port, host, path, method, '', '127.0.0.2');

describe('access rules per path, method and network, through nginx', () => {
  let gw: StartedGateway;
  let nginx: RunningNginx;
  let app: Awaited<ReturnType<typeof startEchoApp>>;
  let port: number;
  const dispatcher = loopbackDispatcher();
  const APP = () => `http://app.rules.test:${port}`;

  before(async () => {
    port = await freePort();
    gw = await startGateway({
      env: {
        GATEWAY_COOKIE_DOMAINS: '.rules.test',
        GATEWAY_REDIRECT_DOMAINS: `.rules.test:${port}`,
        GATEWAY_GROUPS: JSON.stringify({ ops: ['boss@rules.test'] }),
        GATEWAY_HOST_RULES: JSON.stringify([
          { host: 'app.rules.test', path: '/reports', allowed_groups: ['ops'] },
          { host: 'app.rules.test', path: '/static', allow: 'public' },
          { host: 'app.rules.test', path: '/hooks', trusted_networks: ['127.0.0.2/32'] },
          { host: 'app.rules.test', path: '/items', methods: ['DELETE'], allowed_groups: ['ops'] },
          { host: 'app.rules.test', path: '/v1', api: true, allowed_email_domains: ['rules.test'] },
        ]),
      },
    });
    app = await startEchoApp();
    const { conf, files } = shippedNginxConfig({
      listenPort: port,
      gatewayPort: new URL(gw.issuer).port,
      appPort: app.port,
      serverNames: 'app.rules.test',
    });
    nginx = await startNginx(port, conf, files);
  });
  after(async () => {
    await nginx?.stop();
    await app?.close();
    await gw?.close();
    await dispatcher.close();
  });

  /** A browser signed in as `email` (through the app's own sign-in at the fake Google). */
  async function signedIn(email: string): Promise<Browser> {
    const browser = createBrowser({ dispatcher });
    let hop = await browser.follow(`${APP()}/home`, (next) => next.href.startsWith(gw.google.issuer));
    assert.ok(hop.location, 'sent to sign in');
    const back = await signInAtFakeGoogle(hop.location.href, (u, init) => browser.fetch(u, init), { email });
    hop = await browser.follow(back);
    assert.equal(hop.response.status, 200);
    return browser;
  }

  const json = { accept: 'application/json' };

  it('serves a public path without sign-in, and nothing else', async () => {
    const anonymous = createBrowser({ dispatcher });
    const page = await anonymous.fetch(`${APP()}/static/app.css`, { headers: json });
    assert.equal(page.status, 200);
    assert.equal(((await page.json()) as Echo).headers['x-auth-request-user'], undefined, 'no identity');
    for (const path of ['/home', '/static/../home', '/%73tatic/app.css', '/static//app.css'])
      assert.equal((await anonymous.fetch(`${APP()}${path}`, { headers: json })).status, 401, path);
  });

  it("keeps a path to its group, whatever its spelling, and nginx's one-second cache does not mix paths", async () => {
    const ada = await signedIn('ada@rules.test');
    assert.equal((await ada.fetch(`${APP()}/home`, { headers: json })).status, 200);
    // Right after a 202 for /home (cached by nginx for the rest of the second): /reports is decided anew.
    for (const path of ['/reports', '/reports/2026', '/%72eports', '/REPORTS', '/home/../reports', '/reports;x'])
      assert.equal((await ada.fetch(`${APP()}${path}`, { headers: json })).status, 403, path);
    // A dot segment out of the path (sent as written: fetch would resolve it first): most apps
    // would still route it under /reports, so the check refuses it.
    const cookie = ada
      .cookies(`${APP()}/`)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    for (const path of ['/reports/../home', '/reports/%2e%2e/home', '/reports/..;/home', '/reports/x/..%2f..%2fhome'])
      assert.equal(await rawStatus(port, `app.rules.test:${port}`, path, 'GET', cookie), 403, path);
    const boss = await signedIn('boss@rules.test');
    assert.equal((await boss.fetch(`${APP()}/reports/2026`, { headers: json })).status, 200);
  });

  it('answers a caller of an api rule a JSON 401, not a redirect, even from a browser', async () => {
    const browser = createBrowser({ dispatcher });
    const answer = await browser.fetch(`${APP()}/v1/orders`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(answer.status, 401);
    assert.match(answer.headers.get('content-type') ?? '', /json/);
    const page = await browser.fetch(`${APP()}/home`, { headers: { accept: 'text/html' }, redirect: 'manual' });
    assert.equal(page.status, 302, 'elsewhere: sent to sign in');
  });

  it('applies a method rule to its method only', async () => {
    const ada = await signedIn('ada2@rules.test');
    assert.equal((await ada.fetch(`${APP()}/items/7`, { headers: json })).status, 200, 'GET: any signed-in user');
    assert.equal((await ada.fetch(`${APP()}/items/7`, { method: 'DELETE', headers: json })).status, 403);
    // A client's own X-Original-Method is replaced by nginx's.
    const forged = await ada.fetch(`${APP()}/items/7`, {
      method: 'DELETE',
      headers: { ...json, 'x-original-method': 'GET' },
    });
    assert.equal(forged.status, 403);
  });

  it('opens a path to a trusted network only', async () => {
    const host = `app.rules.test:${port}`;
    assert.equal(await statusFromSecondAddress(port, host, '/hooks/build', 'POST'), 200, 'from 127.0.0.2');
    const outside = await createBrowser({ dispatcher }).fetch(`${APP()}/hooks/build`, {
      method: 'POST',
      headers: json,
    });
    assert.equal(outside.status, 401, 'from 127.0.0.1: sign in first');
    // Within the same second, the 127.0.0.2 answer was not handed to 127.0.0.1 by nginx's cache.
    assert.equal(await statusFromSecondAddress(port, host, '/hooks/build', 'GET'), 200);
    const again = await createBrowser({ dispatcher }).fetch(`${APP()}/hooks/build`, { headers: json });
    assert.equal(again.status, 401);
  });
});
