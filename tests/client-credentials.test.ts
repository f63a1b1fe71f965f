/**
 * Machine clients (RFC 6749 §4.4, client credentials), called as a service would with
 * openid-client: an operator gives the grant (clients file), the token is the client's own
 * (`sub` = client_id, `gty` = client_credentials, RFC 9068), for its registered resources and
 * scopes only; it is refused wherever a user is expected (forward auth without a rule naming the
 * client, userinfo, token exchange), and failed client authentication is counted like any other.
 * (Authlib as the caller, with the Django example's API as the resource server:
 * tests/django-example.test.ts.)
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import * as client from 'openid-client';
import { confidentialClient } from './helpers/relying-party.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const API = 'https://api.example.test';
const REGISTRATION_TOKEN = randomBytes(32).toString('base64url');

/** One GET with exactly these headers (Host included), as nginx's auth_request sends it. */
function check(url: string, headers: Record<string, string>) {
  const target = new URL(url);
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined> }>((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path: target.pathname, headers });
    req.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('machine clients: the client credentials grant', () => {
  let gw: StartedGateway;
  const secret = randomBytes(32).toString('base64url');
  const app = confidentialClient('user-app');
  let machine: client.Configuration;

  before(async () => {
    // The port first: the clients file names the gateway's own origin as a resource.
    const port = await freePort();
    const origin = `http://127.0.0.1:${port}`;
    gw = await startGateway({
      port,
      env: {
        GATEWAY_API_SCOPES: 'reports:read,reports:write,admin:all',
        GATEWAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
        // The machine may pass forward auth on /machines of the gateway's own host, and nowhere else.
        GATEWAY_HOST_RULES: JSON.stringify([
          { host: '127.0.0.1', path: '/machines', allowed_clients: ['report-worker'], api: true },
        ]),
      },
      clients: [
        app,
        {
          client_id: 'report-worker',
          client_secret: secret,
          client_name: 'Report worker',
          grant_types: ['client_credentials'],
          response_types: [],
          redirect_uris: [],
          resources: [API, origin],
          scope: 'reports:read reports:write',
        },
      ],
    });
    machine = await client.discovery(
      new URL(gw.issuer),
      'report-worker',
      { client_secret: secret },
      client.ClientSecretBasic(secret),
      { execute: [client.allowInsecureRequests] },
    );
  });
  after(async () => {
    await gw?.close();
  });

  it("issues the client's own token: sub is its id, gty says so, for its API and scopes only", async () => {
    const tokens = await client.clientCredentialsGrant(machine, { resource: API, scope: 'reports:read' });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.refresh_token, undefined, 'no refresh token: a machine asks again');
    assert.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
    const claims = decodeJwt(tokens.access_token);
    assert.equal(claims.sub, 'report-worker');
    assert.equal(claims['client_id'], 'report-worker');
    assert.equal(claims['gty'], 'client_credentials');
    assert.equal(claims.aud, API);
    assert.equal(claims['scope'], 'reports:read');
    assert.equal(claims['email'], undefined);
    // A scope of the gateway's API vocabulary it was not registered with: refused by name.
    await assert.rejects(
      client.clientCredentialsGrant(machine, { resource: API, scope: 'reports:read admin:all' }),
      (error: unknown) => (error as { error?: string }).error === 'invalid_scope',
    );
    // User scopes mean nothing without a user.
    await assert.rejects(
      client.clientCredentialsGrant(machine, { resource: API, scope: 'openid email' }),
      (error: unknown) => (error as { error?: string }).error === 'invalid_scope',
    );
  });

  it('never for an audience it was not given, and never to a client without the grant', async () => {
    await assert.rejects(
      client.clientCredentialsGrant(machine, { resource: 'https://payroll.example.test' }),
      (error: unknown) => (error as { error?: string }).error === 'invalid_target',
    );
    const userApp = await client.discovery(
      new URL(gw.issuer),
      app.client_id,
      { client_secret: String(app.client_secret) },
      client.ClientSecretBasic(String(app.client_secret)),
      { execute: [client.allowInsecureRequests] },
    );
    // oidc-provider answers invalid_request here (RFC 6749 §5.2 would say unauthorized_client).
    await assert.rejects(client.clientCredentialsGrant(userApp, {}), (error: unknown) => {
      const { error: code, error_description: description } = error as { error?: string; error_description?: string };
      return code === 'invalid_request' && /grant type is not allowed for this client/.test(description ?? '');
    });
  });

  it('is refused to a self-registered client: only an operator gives it', async () => {
    const response = await fetch(`${gw.issuer}/reg`, {
      method: 'POST',
      headers: { authorization: `Bearer ${REGISTRATION_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'Sneaky worker',
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
      }),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: string; error_description: string };
    assert.equal(body.error, 'invalid_client_metadata');
    assert.match(body.error_description, /client_credentials can be given only by an operator/);
  });

  it('passes forward auth only where a rule names the client, as the client, never as a user', async () => {
    const { access_token } = await client.clientCredentialsGrant(machine, { resource: gw.issuer });
    const host = new URL(gw.issuer).host;
    const at = (uri: string) =>
      check(`${gw.issuer}/oauth2/auth`, {
        host,
        authorization: `Bearer ${access_token}`,
        'x-original-uri': uri,
        'x-original-method': 'GET',
      });
    const allowed = await at('/machines/reports');
    assert.equal(allowed.status, 202);
    assert.equal(allowed.headers['x-auth-request-user'], 'report-worker');
    assert.equal(allowed.headers['x-auth-request-email'], undefined);
    const minted = decodeJwt(String(allowed.headers['x-auth-request-access-token']));
    assert.equal(minted['gty'], 'client_credentials', "the app's token says it is a machine's");
    assert.equal(minted.sub, 'report-worker');
    // Anywhere else on the host (no rule names it: every signed-in user, and no machine).
    assert.equal((await at('/home')).status, 403);
    // oauth2-proxy's userinfo answers for signed-in users only.
    const userinfo = await check(`${gw.issuer}/oauth2/userinfo`, { host, authorization: `Bearer ${access_token}` });
    assert.equal(userinfo.status, 401);
  });

  it('is no user where a user is expected: userinfo refuses it', async () => {
    const { access_token } = await client.clientCredentialsGrant(machine, { resource: API });
    const userinfo = await fetch(`${gw.issuer}/me`, { headers: { authorization: `Bearer ${access_token}` } });
    assert.equal(userinfo.status, 401);
    await userinfo.body?.cancel();
  });

  it('is active at introspection while it verifies; its revocation is unsupported, said to it alone', async () => {
    const { access_token } = await client.clientCredentialsGrant(machine, { resource: API });
    const introspected = await client.tokenIntrospection(machine, access_token);
    assert.equal(introspected.active, true);
    assert.equal(introspected.sub, 'report-worker');
    assert.equal(introspected['gty'], 'client_credentials');
    const revoke = (basic: string) =>
      fetch(`${gw.issuer}/token/revocation`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
        body: new URLSearchParams({ token: access_token }),
      });
    const own = await revoke(Buffer.from(`report-worker:${secret}`).toString('base64'));
    assert.equal(own.status, 400);
    assert.equal(((await own.json()) as { error: string }).error, 'unsupported_token_type');
    const other = await revoke(Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64'));
    assert.equal(other.status, 200, "another client learns nothing of the machine's token");
    await other.body?.cancel();
  });

  it('counts failed client authentication like any other: a guesser is stopped after 20', async () => {
    const guess = (attempt: string) =>
      fetch(`${gw.issuer}/token`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`report-worker:${attempt}`).toString('base64')}`,
          'x-forwarded-for': '192.0.2.44',
        },
        body: new URLSearchParams({ grant_type: 'client_credentials', resource: API }),
      });
    for (let i = 0; i < 20; i += 1) {
      const response = await guess(`wrong-${i}`);
      assert.equal(response.status, 401, `guess ${i + 1}`);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_client');
    }
    const limited = await guess(secret);
    assert.equal(limited.status, 429, 'past the limit even the right secret is not looked at from there');
    await limited.body?.cancel();
  });
});
