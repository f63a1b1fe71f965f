/**
 * examples/caddy/Caddyfile as shipped, run by Debian's Caddy in front of an app, filled in as a
 * user would: not signed in, a browser is sent to sign in and an API caller gets JSON; signed in,
 * the app gets the gateway's identity headers and token and never the gateway's cookie; a client's
 * own identity or forwarded headers never reach the gateway or the app as its; and path rules
 * hold through it, whatever the spelling.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { createBrowser, loopbackDispatcher, type Browser } from './helpers/browser.ts';
import { type RunningCaddy, shippedCaddyfile, startCaddy } from './helpers/caddy.ts';
import { startEchoApp } from './helpers/echo-app.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

interface Echo {
  path: string;
  headers: Record<string, string>;
}

describe('Caddy forward_auth with the shipped Caddyfile', () => {
  let gw: StartedGateway;
  let caddy: RunningCaddy;
  let app: Awaited<ReturnType<typeof startEchoApp>>;
  let port: number;
  const dispatcher = loopbackDispatcher();
  const APP = () => `http://app.caddy.test:${port}`;

  before(async () => {
    port = await freePort();
    gw = await startGateway({
      env: {
        GATEWAY_COOKIE_DOMAINS: '.caddy.test',
        GATEWAY_REDIRECT_DOMAINS: `.caddy.test:${port}`,
        GATEWAY_GROUPS: JSON.stringify({ ops: ['boss@caddy.test'] }),
        GATEWAY_HOST_RULES: JSON.stringify([
          { host: 'app.caddy.test', path: '/reports', allowed_groups: ['ops'] },
          { host: 'app.caddy.test', path: '/static', allow: 'public' },
        ]),
      },
    });
    app = await startEchoApp();
    caddy = await startCaddy(
      port,
      shippedCaddyfile({
        site: `http://app.caddy.test:${port}`,
        gatewayPort: new URL(gw.issuer).port,
        appPort: app.port,
      }),
    );
  });
  after(async () => {
    await caddy?.stop();
    await app?.close();
    await gw?.close();
    await dispatcher.close();
  });

  async function signedIn(email: string): Promise<Browser> {
    const browser = createBrowser({ dispatcher });
    let hop = await browser.follow(`${APP()}/home`, (next) => next.href.startsWith(gw.google.issuer));
    assert.ok(hop.location, `sent to sign in (stopped at ${hop.url.href}, HTTP ${hop.response.status})`);
    const back = await signInAtFakeGoogle(hop.location.href, (u, init) => browser.fetch(u, init), { email });
    hop = await browser.follow(back);
    assert.equal(hop.response.status, 200, `back at the app (${hop.url.href})`);
    return browser;
  }

  it('sends a browser to sign in, and answers an API caller with JSON', async () => {
    const anonymous = createBrowser({ dispatcher });
    const page = await anonymous.fetch(`${APP()}/home`);
    assert.equal(page.status, 302);
    assert.equal(page.headers.get('location'), `/oauth2/sign_in?rd=${APP()}/home`);
    const api = await anonymous.fetch(`${APP()}/home`, { headers: { accept: 'application/json' } });
    assert.equal(api.status, 401);
    assert.equal(((await api.json()) as { status: number }).status, 401);
    const open = await anonymous.fetch(`${APP()}/static/app.css`, { headers: { 'x-auth-request-user': 'admin' } });
    assert.equal(open.status, 200, 'a public path');
    const openEcho = (await open.json()) as Echo;
    for (const name of [
      'x-auth-request-user',
      'x-auth-request-email',
      'x-auth-request-groups',
      'x-auth-request-access-token',
    ])
      assert.equal(
        openEcho.headers[name],
        undefined,
        `no ${name} on a public path (nor the client's, nor a placeholder's text)`,
      );
  });

  it("gives the app the gateway's identity and token, never the gateway's cookie or a client's own headers", async () => {
    const ada = await signedIn('ada@caddy.test');
    // The app's own cookie, before and after the gateway's in the header: both kept.
    ada.setCookie(`${APP()}/`, 'app_session=s1; Path=/');
    const answer = await ada.fetch(`${APP()}/home`, {
      headers: {
        'x-auth-request-user': 'admin',
        'x-auth-request-email': 'admin@caddy.test',
        'x-forwarded-user': 'admin',
        'remote-user': 'admin',
        'x-original-uri': '/static/x',
      },
    });
    assert.equal(answer.status, 200);
    const echo = (await answer.json()) as Echo;
    assert.equal(echo.headers['x-auth-request-email'], 'ada@caddy.test');
    assert.notEqual(echo.headers['x-auth-request-user'], 'admin');
    assert.equal(echo.headers['x-forwarded-user'], undefined);
    assert.equal(echo.headers['x-auth-request-groups'], undefined, 'no groups: no header (not a placeholder)');
    assert.equal(echo.headers['remote-user'], undefined);
    const token = decodeJwt(echo.headers['x-auth-request-access-token'] ?? '');
    assert.equal(token.aud, APP(), "the app's token is for the app's origin");
    assert.doesNotMatch(echo.headers['cookie'] ?? '', /_gateway_auth/, "the gateway's cookie stops at Caddy");
    assert.match(echo.headers['cookie'] ?? '', /(?:^|; )app_session=s1(?:;|$)/, "the app's own cookie goes on");
  });

  it('holds path rules through Caddy, whatever the spelling', async () => {
    const ada = await signedIn('ada@caddy.test');
    for (const path of ['/reports', '/reports/2026', '/%72eports', '/REPORTS'])
      assert.equal((await ada.fetch(`${APP()}${path}`, { headers: { accept: 'application/json' } })).status, 403, path);
    const boss = await signedIn('boss@caddy.test');
    assert.equal((await boss.fetch(`${APP()}/reports`)).status, 200);
  });
});
