/**
 * Sessions done right: refresh races inside a grace period, reuse after it, back-channel logout
 * received and verified by an app, and Google tokens on demand (RFC 8693 token exchange).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { signInWithConsent } from './helpers/consent.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { confidentialClient, discoverApp, signIn, type TestApp } from './helpers/relying-party.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

async function tokenRequest(
  gw: StartedGateway,
  meta: { client_id: string; client_secret: string },
  body: Record<string, string>,
) {
  return fetch(`${gw.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${meta.client_id}:${meta.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams(body),
  });
}

/** An app's back-channel logout endpoint that records what it receives. */
async function startLogoutReceiver() {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.statusCode = 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel-logout`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

describe('refresh races: the grace period', () => {
  let gw: StartedGateway;
  let app: TestApp;
  const meta = confidentialClient('race-app');
  before(async () => {
    gw = await startGateway({ clients: [meta], env: { GATEWAY_REFRESH_GRACE: '2' } });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => gw?.close());

  it('answers 10 parallel refreshes with one token alike, all successful', async () => {
    const tokens = await signIn(createBrowser(), app, gw.google.issuer, { email: 'tabs@example.com' });
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        tokenRequest(gw, meta, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' }),
      ),
    );
    assert.deepEqual(
      responses.map((r) => r.status),
      Array(10).fill(200),
    );
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as Array<{
      refresh_token: string;
      access_token: string;
    }>;
    assert.equal(new Set(bodies.map((b) => b.refresh_token)).size, 1, 'one new refresh token for all');
    assert.equal(new Set(bodies.map((b) => b.access_token)).size, 1, 'one new access token for all');
    assert.notEqual(bodies[0]?.refresh_token, tokens.refresh_token);
    // the new refresh token works
    const next = await tokenRequest(gw, meta, {
      grant_type: 'refresh_token',
      refresh_token: bodies[0]?.refresh_token ?? '',
    });
    assert.equal(next.status, 200);
  });

  it('revokes everything on a reuse after the grace, forward-auth access included', async () => {
    const browser = createBrowser();
    // a forward-auth cookie and an app sign-in in one SSO session
    const start = await browser.follow(`${gw.issuer}/oauth2/start?rd=/`, (url) =>
      url.href.startsWith(gw.google.issuer),
    );
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => browser.fetch(u, init), {
      email: 'thief@example.com',
    });
    await browser.follow(back);
    const authCheck = () => browser.fetch(`${gw.issuer}/oauth2/auth`);
    assert.equal((await authCheck()).status, 202);
    const tokens = await signIn(browser, app, gw.google.issuer, { email: 'unused@example.com' });

    const first = await tokenRequest(gw, meta, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    });
    const rotated = (await first.json()) as { refresh_token: string };
    await new Promise((resolve) => setTimeout(resolve, 2300));
    const reuse = await tokenRequest(gw, meta, {
      grant_type: 'refresh_token',
      refresh_token: tokens.refresh_token ?? '',
    });
    assert.equal(reuse.status, 400);
    assert.equal(((await reuse.json()) as { error: string }).error, 'invalid_grant');
    const afterReuse = await tokenRequest(gw, meta, {
      grant_type: 'refresh_token',
      refresh_token: rotated.refresh_token,
    });
    assert.equal(afterReuse.status, 400, 'the rotated token died with the grant');
    assert.equal((await authCheck()).status, 401, 'the forward-auth cookie of that session is refused');
  });
});

describe('single logout: back-channel logout tokens', () => {
  let gw: StartedGateway;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let app: TestApp;
  const meta = confidentialClient('bcl-app');

  before(async () => {
    receiver = await startLogoutReceiver();
    Object.assign(meta, { backchannel_logout_uri: receiver.url, backchannel_logout_session_required: true });
    // the receiver is on loopback, which the gateway refuses to call unless told (SSRF protection)
    gw = await startGateway({ clients: [meta], env: { GATEWAY_OUTBOUND_PRIVATE_HOSTS: new URL(receiver.url).host } });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => {
    await gw?.close();
    await receiver?.close();
  });

  async function verifyLogoutToken(token: string) {
    const jwks = (await (await fetch(`${gw.issuer}/jwks`)).json()) as { keys: [] };
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), {
      issuer: gw.issuer,
      audience: meta.client_id,
      typ: 'logout+jwt',
    });
    assert.deepEqual(payload['events'], { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.ok(payload.sub && payload['sid'], 'sub and sid');
    assert.equal(payload['nonce'], undefined, 'no nonce (Back-Channel Logout §2.4)');
    return payload;
  }

  async function waitFor(count: number) {
    for (let i = 0; i < 100 && receiver.received.length < count; i += 1)
      await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(receiver.received.length, count);
  }

  it('sends a verified logout token on RP-initiated logout', async () => {
    const browser = createBrowser();
    const tokens = await signIn(browser, app, gw.google.issuer, { email: 'bye@example.com' });
    const before = receiver.received.length;
    const endSession = client.buildEndSessionUrl(app.config, { id_token_hint: tokens.id_token ?? '' });
    const page = await browser.fetch(endSession);
    const html = await page.text();
    const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
    assert.ok(xsrf, 'the logout confirmation form');
    const confirm = await browser.fetch(`${gw.issuer}/session/end/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ xsrf, logout: 'yes' }),
    });
    assert.ok(confirm.status < 400);
    await waitFor(before + 1);
    const payload = await verifyLogoutToken(receiver.received.at(-1) ?? '');
    assert.equal(payload.sub, tokens.claims()?.sub);
    assert.equal(payload['sid'], tokens.claims()?.['sid']);
    await assert.rejects(client.refreshTokenGrant(app.config, tokens.refresh_token ?? ''), { error: 'invalid_grant' });
  });

  it('sends one too when the user signs out through forward auth', async () => {
    const browser = createBrowser();
    const start = await browser.follow(`${gw.issuer}/oauth2/start?rd=/`, (url) =>
      url.href.startsWith(gw.google.issuer),
    );
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => browser.fetch(u, init), {
      email: 'fa-bye@example.com',
    });
    await browser.follow(back);
    const tokens = await signIn(browser, app, gw.google.issuer, { email: 'unused@example.com' });
    const before = receiver.received.length;
    await browser.fetch(`${gw.issuer}/oauth2/sign_out`);
    await waitFor(before + 1);
    const payload = await verifyLogoutToken(receiver.received.at(-1) ?? '');
    assert.equal(payload.sub, tokens.claims()?.sub);
  });
});

/** What an app that exchanges tokens asks for: the user's consent to it (upstream-token-scope.ts). */
const WITH_UPSTREAM_TOKEN = { scope: 'openid email profile upstream_token' };

describe('Google tokens on demand (RFC 8693 token exchange)', () => {
  let gw: StartedGateway;
  let app: TestApp;
  const allowed = confidentialClient('google-api-app', {
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
  });
  const other = confidentialClient('plain-app');

  before(async () => {
    gw = await startGateway({ clients: [allowed, other], google: { accessTokenTtl: 2 } });
    app = await discoverApp(gw.issuer, allowed);
  });
  after(async () => gw?.close());

  const exchange = (meta: { client_id: string; client_secret: string }, subjectToken: string) =>
    tokenRequest(gw, meta, {
      grant_type: TOKEN_EXCHANGE,
      subject_token: subjectToken,
      subject_token_type: ACCESS_TOKEN_TYPE,
      audience: gw.google.issuer,
    });

  it("gives an allowed app the user's current Google access token, refreshed when expired", async () => {
    const tokens = await signInWithConsent(
      createBrowser(),
      gw,
      app,
      'apis@example.com',
      allowed.client_id,
      WITH_UPSTREAM_TOKEN,
    );
    const first = await exchange(allowed, tokens.access_token);
    assert.equal(first.status, 200);
    const body = (await first.json()) as {
      access_token: string;
      issued_token_type: string;
      token_type: string;
      scope?: string;
    };
    assert.equal(body.issued_token_type, ACCESS_TOKEN_TYPE);
    assert.equal(body.token_type, 'Bearer');
    assert.match(body.scope ?? '', /email/);
    const info = await fetch(`${gw.google.issuer}/me`, { headers: { authorization: `Bearer ${body.access_token}` } });
    assert.equal(info.status, 200, 'the token works at Google');
    // Google's token lives 2 s here: the next exchange refreshes it upstream first
    const refreshes = gw.google.idp.counters.refresh;
    const second = (await (await exchange(allowed, tokens.access_token)).json()) as { access_token: string };
    assert.equal(gw.google.idp.counters.refresh, refreshes + 1);
    assert.notEqual(second.access_token, body.access_token);
  });

  it("refuses a client not allowed to exchange, and another client's subject token", async () => {
    const browser = createBrowser();
    const tokens = await signInWithConsent(
      browser,
      gw,
      app,
      'apis2@example.com',
      allowed.client_id,
      WITH_UPSTREAM_TOKEN,
    );
    const refused = await exchange(other, tokens.access_token);
    assert.equal(refused.status, 400);
    const error = (await refused.json()) as { error: string; error_description: string };
    // oidc-provider answers invalid_request here; RFC 6749 §5.2 would say unauthorized_client
    assert.ok(['unauthorized_client', 'invalid_request'].includes(error.error));
    assert.match(error.error_description, /grant type/);
    const otherApp = await discoverApp(gw.issuer, other);
    const otherTokens = await signIn(browser, otherApp, gw.google.issuer, { email: 'unused@example.com' });
    const foreign = await exchange(allowed, otherTokens.access_token);
    assert.equal(foreign.status, 400);
    assert.equal(((await foreign.json()) as { error: string }).error, 'invalid_grant');
  });

  it("answers invalid_grant when the user's Google grant is gone", async () => {
    const tokens = await signInWithConsent(
      createBrowser(),
      gw,
      app,
      'revoked@example.com',
      allowed.client_id,
      WITH_UPSTREAM_TOKEN,
    );
    assert.equal(decodeJwt(tokens.access_token).client_id, allowed.client_id);
    await new Promise((resolve) => setTimeout(resolve, 2100));
    gw.google.idp.behaviour.failRefreshWithInvalidGrant = true;
    try {
      const response = await exchange(allowed, tokens.access_token);
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_grant');
    } finally {
      gw.google.idp.behaviour.failRefreshWithInvalidGrant = false;
    }
  });
});
