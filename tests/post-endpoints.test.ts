/**
 * POST at the authorization and logout endpoints (OIDC Core §3.1.2.1, RP-Initiated Logout §2: an
 * OP MUST support GET and POST there). The gateway answers a form POST with a 303 to the same
 * endpoint by GET, so that a real browser, arriving from an app on another site, brings the
 * gateway's `SameSite=Lax` session cookie along (gateway/provider/post-as-get-routes.ts).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../config/load-config.ts';
import { buildGateway } from '../gateway/app/build-gateway.ts';
import { launchChromium } from './helpers/chromium.ts';
import { freePort } from './helpers/start-gateway.ts';

describe('POST at the authorization and logout endpoints', () => {
  let app: FastifyInstance;
  let browser: Browser;
  let issuer: string;
  let appSite: Server;
  let appOrigin: string;

  before(async () => {
    const port = await freePort();
    // The gateway on "localhost", the app on "127.0.0.1": two sites, as an app and its IdP are.
    issuer = `http://localhost:${port}`;
    const loaded = loadConfig({
      GATEWAY_ISSUER: issuer,
      GATEWAY_PORT: String(port),
      GATEWAY_STORE: 'memory://',
      GATEWAY_LOG_LEVEL: 'silent',
    });
    assert.ok(loaded.ok);
    app = await buildGateway(loaded.config);
    await app.listen({ host: '127.0.0.1', port });
    // The app's "sign out" page: a form that posts itself to the gateway's logout endpoint.
    appSite = createServer((_request, response) => {
      response.setHeader('content-type', 'text/html; charset=utf-8');
      response.end(
        `<!doctype html><form method="post" action="${issuer}/session/end"><input type="hidden" name="state" value="s-1"></form>` +
          '<script>document.forms[0].submit()</script>',
      );
    });
    const appPort = await freePort();
    await new Promise<void>((resolve) => appSite.listen(appPort, '127.0.0.1', resolve));
    appOrigin = `http://127.0.0.1:${appPort}`;
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
    await new Promise((resolve) => appSite?.close(resolve));
  });

  it('answers a form POST with a 303 to the same endpoint, its parameters in the query', async () => {
    for (const path of ['/auth', '/session/end']) {
      const response = await app.inject({
        method: 'POST',
        url: path,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: 'client_id=demo&state=a%20b&state=twice',
      });
      assert.equal(response.statusCode, 303, path);
      assert.equal(response.headers.location, `${issuer}${path}?client_id=demo&state=a+b&state=twice`);
      assert.equal(response.headers['cache-control'], 'no-store');
    }
  });

  it('keeps the query of a POST without a body', async () => {
    const response = await app.inject({ method: 'POST', url: '/session/end?state=q' });
    assert.equal(response.statusCode, 303);
    assert.equal(response.headers.location, `${issuer}/session/end?state=q`);
  });

  it('refuses a body that is not a form, or too large, with a problem document', async () => {
    const json = await app.inject({
      method: 'POST',
      url: '/session/end',
      headers: { 'content-type': 'application/json' },
      payload: '{"state":"x"}',
    });
    assert.equal(json.statusCode, 415);
    assert.match(json.headers['content-type'] ?? '', /problem\+json/);
    const large = await app.inject({
      method: 'POST',
      url: '/auth',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `state=${'a'.repeat(60 * 1024)}`,
    });
    assert.equal(large.statusCode, 413);
  });

  it('signs a browser out when an app on another site posts the logout form', async () => {
    const page = await browser.newPage();
    await page.goto(`${issuer}/demo`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel(/e-mail/i).fill('posted@example.com');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${issuer}/demo`);
    // Whether the gateway still knows the browser's session: a silent authorization request.
    const silent = new URLSearchParams({
      client_id: 'demo-app',
      redirect_uri: `${issuer}/demo/callback`,
      response_type: 'code',
      scope: 'openid',
      prompt: 'none',
      state: 'silent',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
    });
    const signedIn = async () => {
      const answer = await page.context().request.get(`${issuer}/auth?${silent}`, { maxRedirects: 0 });
      const location = new URL(answer.headers()['location'] ?? '', issuer);
      if (location.searchParams.has('code')) return true;
      assert.equal(location.searchParams.get('error'), 'login_required');
      return false;
    };
    assert.equal(await signedIn(), true);

    // The gateway knows the session (its Lax cookie came along): it asks for confirmation,
    // instead of posting an anonymous logout that would end nothing.
    await page.goto(appOrigin);
    await page.waitForURL(/\/session\/end\?state=s-1$/);
    await page.getByRole('button', { name: 'Yes, sign me out' }).click();
    await page.waitForURL(/\/session\/end\/success/);
    assert.equal(await signedIn(), false, 'the SSO session ended');
    await page.close();
  });
});
