/**
 * The admin API (/admin/…) as an operator's tooling calls it: a machine client with
 * `gateway:admin` (client credentials, resource = the gateway) finds a user, sees their sessions,
 * ends one, disables and enables the account. Anyone else is refused as RFC 6750 says: no token,
 * a user's token, a machine without the scope, a browser's cookies. The OpenAPI document is the
 * routes' own schemas.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { confidentialClient, discoverApp, signIn, startAuthorization, type TestApp } from './helpers/relying-party.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const REGISTRATION_TOKEN = randomBytes(32).toString('base64url');
const SECRET = randomBytes(32).toString('base64url');

describe('the admin API, for machine clients with gateway:admin', () => {
  let gw: StartedGateway;
  let app: TestApp;
  let adminToken = '';
  let reportsToken = '';

  before(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const machine = (id: string, scope: string) => ({
      client_id: id,
      client_secret: SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      resources: [issuer],
      scope,
    });
    gw = await startGateway({
      port,
      env: { GATEWAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN, GATEWAY_API_SCOPES: 'reports:read' },
      clients: [
        confidentialClient('notes-app', { resources: [issuer] }),
        machine('oncall-bot', 'gateway:admin'),
        machine('reports-bot', 'reports:read'),
      ],
    });
    app = await discoverApp(gw.issuer, confidentialClient('notes-app', { resources: [issuer] }));
    const tokenFor = async (id: string, scope: string) => {
      const config = await client.discovery(
        new URL(gw.issuer),
        id,
        { client_secret: SECRET },
        client.ClientSecretBasic(SECRET),
        {
          execute: [client.allowInsecureRequests],
        },
      );
      return (await client.clientCredentialsGrant(config, { resource: gw.issuer, scope })).access_token;
    };
    adminToken = await tokenFor('oncall-bot', 'gateway:admin');
    reportsToken = await tokenFor('reports-bot', 'reports:read');
  });
  after(async () => {
    await gw?.close();
  });

  const call = async (path: string, token: string | undefined, method = 'GET') => {
    const response = await fetch(`${gw.issuer}${path}`, {
      method,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    return {
      status: response.status,
      challenge: response.headers.get('www-authenticate'),
      body: (await response.json()) as Record<string, unknown>,
    };
  };

  it('finds a user, shows their sessions, ends one, disables and enables the account', async () => {
    const tokens = await signIn(createBrowser(), app, gw.google.issuer, { email: 'lin@example.com', name: 'Lin' });
    const sub = String(decodeJwt(tokens.access_token).sub);
    const found = await call('/admin/users?q=lin%40example.com', adminToken);
    assert.equal(found.status, 200);
    assert.deepEqual(
      (found.body['users'] as { sub: string }[]).map((u) => u.sub),
      [sub],
    );
    const shown = await call(`/admin/users/${sub}`, adminToken);
    const sessions = shown.body['sessions'] as { uid: string; apps: string[] }[];
    assert.equal(sessions.length, 1);
    assert.deepEqual(sessions[0]?.apps, ['notes-app']);

    const disabled = await call(`/admin/users/${sub}/disable`, adminToken, 'POST');
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body['disabled'], true);
    assert.equal(disabled.body['sessions'], 1);
    await assert.rejects(
      client.refreshTokenGrant(app.config, tokens.refresh_token ?? ''),
      (error: unknown) => (error as { error?: string }).error === 'invalid_grant',
    );
    assert.ok((await call(`/admin/users/${sub}`, adminToken)).body['disabled_at']);
    const enabled = await call(`/admin/users/${sub}/enable`, adminToken, 'POST');
    assert.equal(enabled.body['disabled'], false);

    const again = await signIn(createBrowser(), app, gw.google.issuer, { email: 'lin@example.com', name: 'Lin' });
    const uid = String(decodeJwt(again.access_token)['session_uid']);
    const ended = await call(`/admin/sessions/${uid}`, adminToken, 'DELETE');
    assert.equal(ended.status, 200);
    assert.equal(ended.body['sub'], sub);
    assert.deepEqual((await call(`/admin/users/${sub}/sessions`, adminToken)).body['sessions'], []);
    assert.equal((await call('/admin/users/no-such-sub', adminToken)).status, 404);
    // Every account, a page at a time.
    const first = await call('/admin/accounts?limit=1', adminToken);
    assert.equal((first.body['users'] as unknown[]).length, 1);
    assert.equal(typeof first.body['next'], 'string');
    const rest = await call(
      `/admin/accounts?limit=100&after=${encodeURIComponent(String(first.body['next']))}`,
      adminToken,
    );
    const all = (await call('/admin/accounts?limit=1000', adminToken)).body['users'] as unknown[];
    assert.ok(all.length >= 1, 'who signed in');
    assert.equal((rest.body['users'] as unknown[]).length + 1, all.length, 'the pages together are every account');
    for (const query of ['after=zzz', 'after=44', 'after=1e1.', 'after=0x2c.x', 'upstream=nowhere'])
      assert.equal((await call(`/admin/accounts?${query}`, adminToken)).status, 400, query);
    const noSession = await call('/admin/sessions/no-such-session', adminToken, 'DELETE');
    assert.equal(noSession.status, 404);
    assert.deepEqual(
      Object.keys(noSession.body).sort(),
      ['detail', 'status', 'title', 'type'],
      'a whole problem document',
    );
  });

  it('refuses every caller but a machine with gateway:admin, as RFC 6750 says', async () => {
    const none = await call('/admin/users?q=x', undefined);
    assert.equal(none.status, 401);
    assert.match(none.challenge ?? '', /^Bearer realm="gateway-admin", scope="gateway:admin"$/);
    const garbage = await call('/admin/users?q=x', 'not-a-token');
    assert.equal(garbage.status, 401);
    assert.match(garbage.challenge ?? '', /error="invalid_token"/);
    const machineWithout = await call('/admin/users?q=x', reportsToken);
    assert.equal(machineWithout.status, 403);
    assert.match(machineWithout.challenge ?? '', /error="insufficient_scope"/);
    // A user's token (made for the app, not the gateway).
    const user = await signIn(createBrowser(), app, gw.google.issuer, { email: 'eve@example.com', name: 'Eve' });
    const userCall = await call('/admin/users?q=x', user.access_token);
    assert.equal(userCall.status, 401);
    assert.match(userCall.challenge ?? '', /error="invalid_token"/);
    // A browser signed in to the gateway: its cookies are never read here.
    const browser = createBrowser();
    await signIn(browser, app, gw.google.issuer, { email: 'op@example.com', name: 'Op' });
    const fromBrowser = await browser.fetch(`${gw.issuer}/admin/users?q=op%40example.com`);
    assert.equal(fromBrowser.status, 401);
    await fromBrowser.body?.cancel();
  });

  it('keeps gateway:admin away from users and self-registered apps', async () => {
    const start = await startAuthorization(app, { scope: 'openid gateway:admin' });
    const hop = await createBrowser().follow(start.url, (url) =>
      url.href.startsWith(app.metadata.redirect_uris[0] ?? ''),
    );
    assert.equal(hop.location?.searchParams.get('error'), 'invalid_scope');
    const registered = await fetch(`${gw.issuer}/reg`, {
      method: 'POST',
      headers: { authorization: `Bearer ${REGISTRATION_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ redirect_uris: ['https://app.example.test/cb'], scope: 'openid gateway:admin' }),
    });
    assert.equal(registered.status, 400);
    assert.equal(((await registered.json()) as { error: string }).error, 'invalid_client_metadata');
  });

  it('serves an OpenAPI 3.1 document made from the routes themselves', async () => {
    const response = await fetch(`${gw.issuer}/admin/openapi.json`);
    assert.equal(response.status, 200);
    const doc = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, { parameters?: { name: string; in: string }[]; security: unknown[] }>>;
    };
    assert.equal(doc.openapi, '3.1.0');
    assert.deepEqual(Object.keys(doc.paths).sort(), [
      '/admin/accounts',
      '/admin/sessions/{uid}',
      '/admin/users',
      '/admin/users/{sub}',
      '/admin/users/{sub}/disable',
      '/admin/users/{sub}/enable',
      '/admin/users/{sub}/sessions',
    ]);
    assert.deepEqual(Object.keys(doc.paths['/admin/sessions/{uid}'] ?? {}), ['delete']);
    assert.deepEqual(doc.paths['/admin/users']?.['get']?.parameters?.[0], {
      name: 'q',
      in: 'query',
      required: true,
      schema: { type: 'string', minLength: 1, maxLength: 320 },
    });
    assert.deepEqual(doc.paths['/admin/users/{sub}']?.['get']?.security, [{ machineToken: ['gateway:admin'] }]);
  });
});
