/**
 * Introspection (RFC 7662) of the gateway's own access JWTs, through stock client libraries
 * (openid-client's `tokenIntrospection`, Python Authlib's `introspect_token`), on two gateway
 * instances that share one real Redis behind one issuer (helpers/instances-behind-balancer.ts).
 * Each user signs in through instance A and is introspected through instance B, and the ending
 * is checked on both.
 *
 * `active: true` with the RFC 7662 §2.2 members while the grant lives; `active: false` after each
 * way a grant ends: RFC 7009 revocation of the refresh token and of the access JWT itself,
 * RP-initiated logout, refresh-token reuse after the grace, forward-auth sign-out and an
 * operator's `users sign-out`. Only the client the token was issued to, or a resource server an
 * operator named its audience for (`introspection_audiences`), learns anything.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { PYTHON, requireDjangoPackages, runPython } from '../examples/full-stack/python.ts';
import { createCliSignOut } from '../gateway/cli/cli-sign-out.ts';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { signInAtFakeGoogle, type FakeGoogle } from './helpers/fake-google.ts';
import { startInstancesBehindBalancer, type InstancesBehindBalancer } from './helpers/instances-behind-balancer.ts';
import type { LoadBalancer } from './helpers/load-balancer.ts';
import { logOut } from './helpers/log-out.ts';
import { confidentialClient, discoverApp, signIn, type TestApp } from './helpers/relying-party.ts';

const REFRESH_GRACE_SECONDS = 1;

/** Authlib's OAuth2Session.introspect_token (client_secret_basic), one answer per token, in order. */
const AUTHLIB_INTROSPECTION = `
import json, os
from authlib.integrations.requests_client import OAuth2Session
session = OAuth2Session(os.environ["CLIENT_ID"], os.environ["CLIENT_SECRET"])
answers = []
for token in json.loads(os.environ["TOKENS"]):
    response = session.introspect_token(os.environ["ENDPOINT"], token=token, token_type_hint="access_token")
    answers.append({"status": response.status_code, "body": response.json()})
print(json.dumps(answers))
`;

async function introspectWithAuthlib(
  endpoint: string,
  meta: { client_id: string; client_secret: string },
  tokens: string[],
) {
  const { code, output } = await runPython(['-c', AUTHLIB_INTROSPECTION], {
    cwd: process.cwd(),
    env: {
      CLIENT_ID: meta.client_id,
      CLIENT_SECRET: meta.client_secret,
      ENDPOINT: endpoint,
      TOKENS: JSON.stringify(tokens),
    },
    timeoutMs: 60_000,
  });
  assert.equal(code, 0, `${PYTHON} failed:\n${output}`);
  const last = output.trim().split('\n').at(-1) ?? '';
  return JSON.parse(last) as Array<{ status: number; body: Record<string, unknown> }>;
}

describe('introspection of access JWTs (RFC 7662), two instances on one Redis', () => {
  let instances: InstancesBehindBalancer;
  let google: FakeGoogle;
  let lb: LoadBalancer;
  let app: TestApp;
  let api: TestApp;
  let other: TestApp;
  const appMeta = confidentialClient('intro-app');
  // A resource server in front of intro-app's API: tokens for it have `aud` = intro-app.
  const apiMeta = confidentialClient('intro-api', {
    introspection_audiences: ['intro-app', 'https://api.example.com'],
  });
  const otherMeta = confidentialClient('intro-other');
  const spaMeta = {
    client_id: 'intro-spa',
    token_endpoint_auth_method: 'none' as const,
    redirect_uris: ['http://127.0.0.1:9/intro-spa/callback'],
    first_party: true,
  };

  before(async () => {
    requireDjangoPackages(); // Debian's python3 with Authlib, or a loud failure naming the packages
    instances = await startInstancesBehindBalancer({
      name: 'introspection',
      clients: [appMeta, apiMeta, otherMeta, spaMeta],
      env: { GATEWAY_REFRESH_GRACE: String(REFRESH_GRACE_SECONDS) },
    });
    ({ google, lb } = instances);
    lb.use(0);
    app = await discoverApp(lb.url, appMeta);
    api = await discoverApp(lb.url, apiMeta);
    other = await discoverApp(lb.url, otherMeta);
  });
  after(async () => instances?.close());

  /** Signs a new user in through instance A; introspection then goes to B. */
  async function signedIn(email: string, browser: Browser = createBrowser()) {
    lb.use(0);
    const tokens = await signIn(browser, app, google.issuer, { email });
    lb.use(1);
    assert.equal(
      (await client.tokenIntrospection(app.config, tokens.access_token)).active,
      true,
      'active before it ends',
    );
    return { browser, tokens, sub: String(tokens.claims()?.sub) };
  }

  async function inactiveEverywhere(accessToken: string, why: string): Promise<void> {
    for (const index of [0, 1]) {
      lb.use(index);
      assert.deepEqual(
        await client.tokenIntrospection(app.config, accessToken),
        { active: false },
        `${why}: inactive on instance ${index === 0 ? 'A' : 'B'}`,
      );
      assert.equal(
        (await client.tokenIntrospection(api.config, accessToken)).active,
        false,
        `${why}: inactive for the resource server too`,
      );
      // Userinfo answers about the user now: a token whose grant ended gets no answer there either.
      const userinfo = await fetch(`${lb.url}/me`, { headers: { authorization: `Bearer ${accessToken}` } });
      assert.equal(userinfo.status, 401, `${why}: userinfo refuses it on instance ${index === 0 ? 'A' : 'B'}`);
      await userinfo.body?.cancel();
    }
  }

  it('answers active with the RFC 7662 members on the other instance, to the client and to its resource server', async () => {
    const { tokens, sub } = await signedIn('ada@example.com');
    const claims = decodeJwt(tokens.access_token);
    const answer = await client.tokenIntrospection(app.config, tokens.access_token);
    assert.equal(answer.active, true);
    assert.equal(
      (await fetch(`${lb.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status,
      200,
      'userinfo answers while the grant lives',
    );
    assert.equal(answer.client_id, appMeta.client_id);
    assert.equal(answer.sub, sub);
    assert.equal(answer.aud, appMeta.client_id);
    assert.equal(answer.iss, lb.url);
    assert.equal(answer.token_type, 'Bearer');
    assert.equal(answer.scope, claims['scope']);
    assert.match(String(answer.scope), /openid/);
    assert.equal(answer.exp, claims.exp);
    assert.equal(answer.iat, claims.iat);
    assert.equal(answer.jti, claims.jti);
    assert.equal(answer.username, claims['preferred_username']);
    // The resource server an operator named the audience for.
    const forApi = await client.tokenIntrospection(api.config, tokens.access_token);
    assert.equal(forApi.active, true);
    assert.equal(forApi.sub, sub);
    // Refresh tokens introspect as before (oidc-provider's own answer), on either instance.
    lb.use(0);
    const refresh = await client.tokenIntrospection(app.config, tokens.refresh_token ?? '');
    assert.equal(refresh.active, true);
    assert.equal(refresh.sub, sub);
    assert.equal(refresh.client_id, appMeta.client_id);
    // And the refresh goes on working, its new access JWT active too.
    const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '');
    lb.use(1);
    assert.equal((await client.tokenIntrospection(app.config, refreshed.access_token)).active, true);
  });

  it('tells another client, a public client and a forged token nothing, and needs client authentication', async () => {
    const { browser, tokens } = await signedIn('grace@example.com');
    assert.deepEqual(
      await client.tokenIntrospection(other.config, tokens.access_token),
      { active: false },
      'another confidential client',
    );
    // A public client authenticates with its client id alone: it learns nothing, even of its own tokens.
    const spa = await discoverApp(lb.url, spaMeta);
    const own = await signIn(browser, spa, google.issuer, { email: 'grace@example.com' });
    assert.deepEqual(
      await client.tokenIntrospection(spa.config, own.access_token),
      { active: false },
      'a public client, its own access token',
    );
    assert.deepEqual(
      await client.tokenIntrospection(spa.config, own.refresh_token ?? ''),
      { active: false },
      'a public client, its own refresh token',
    );
    assert.deepEqual(
      await client.tokenIntrospection(spa.config, tokens.access_token),
      { active: false },
      "a public client, another app's token",
    );
    const [header, payload] = tokens.access_token.split('.');
    const forged = `${header}.${payload}.${Buffer.from('not the signature').toString('base64url')}`;
    assert.deepEqual(await client.tokenIntrospection(app.config, forged), { active: false }, 'a bad signature');
    const anonymous = await fetch(`${lb.url}/token/introspection`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token: tokens.access_token }),
    });
    // oidc-provider: 400 invalid_request "no client authentication mechanism provided".
    assert.equal(anonymous.status, 400);
    const refused = (await anonymous.json()) as { error: string; active?: boolean };
    assert.equal(refused.error, 'invalid_request');
    assert.equal(refused.active, undefined);
    const wrongSecret = await fetch(`${lb.url}/token/introspection`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${appMeta.client_id}:not-the-secret-0123456789abcdef0123456789`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: tokens.access_token }),
    });
    assert.equal(wrongSecret.status, 401);
    await wrongSecret.body?.cancel();
  });

  it('goes inactive after RFC 7009 revocation of the refresh token', async () => {
    const { tokens } = await signedIn('revoke-refresh@example.com');
    lb.use(0);
    await client.tokenRevocation(app.config, tokens.refresh_token ?? '', { token_type_hint: 'refresh_token' });
    await inactiveEverywhere(tokens.access_token, 'refresh token revoked');
  });

  it('goes inactive after RFC 7009 revocation of the access JWT itself, which ends its grant; another client may not revoke it', async () => {
    const { tokens } = await signedIn('revoke-access@example.com');
    lb.use(0);
    const foreign = await fetch(`${lb.url}/token/revocation`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${otherMeta.client_id}:${otherMeta.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ token: tokens.access_token }),
    });
    assert.equal(foreign.status, 400, 'RFC 7009 §2.1: another client is refused');
    assert.equal(((await foreign.json()) as { error: string }).error, 'invalid_request');
    lb.use(1);
    assert.equal((await client.tokenIntrospection(app.config, tokens.access_token)).active, true, 'still active');

    lb.use(0);
    await client.tokenRevocation(app.config, tokens.access_token, { token_type_hint: 'access_token' });
    await inactiveEverywhere(tokens.access_token, 'access token revoked');
    lb.use(1);
    await assert.rejects(
      client.refreshTokenGrant(app.config, tokens.refresh_token ?? ''),
      { error: 'invalid_grant' },
      'the grant ended: no refresh',
    );
    // Revoking it again, or a token that never was, is a 200 with nothing to do (RFC 7009 §2.2).
    await client.tokenRevocation(app.config, tokens.access_token);
  });

  it('goes inactive after RP-initiated logout', async () => {
    const { browser, tokens } = await signedIn('logout@example.com');
    lb.use(0);
    await logOut(browser, app, tokens.id_token ?? '');
    await inactiveEverywhere(tokens.access_token, 'logged out');
  });

  it('goes inactive after a refresh token is reused past the grace', async () => {
    const { tokens } = await signedIn('reuse@example.com');
    lb.use(0);
    const rotated = await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '');
    await new Promise((resolve) => setTimeout(resolve, REFRESH_GRACE_SECONDS * 1000 + 200));
    lb.use(1);
    await assert.rejects(client.refreshTokenGrant(app.config, tokens.refresh_token ?? ''), { error: 'invalid_grant' });
    await inactiveEverywhere(tokens.access_token, 'refresh token reused');
    await inactiveEverywhere(rotated.access_token, 'refresh token reused (the newer access token)');
  });

  it('goes inactive after the user signs out through forward auth', async () => {
    const browser = createBrowser();
    lb.use(1);
    const start = await browser.follow(`${lb.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(google.issuer));
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (url, init) => browser.fetch(url, init), {
      email: 'fa@example.com',
    });
    await browser.follow(back);
    const { tokens } = await signedIn('fa@example.com', browser);
    lb.use(1);
    const signOut = await browser.fetch(`${lb.url}/oauth2/sign_out`);
    assert.equal(signOut.status, 302);
    await inactiveEverywhere(tokens.access_token, 'signed out through forward auth');
  });

  it('goes inactive after an operator signs the user out (users sign-out), and Authlib sees the same answers', async () => {
    const { tokens, sub } = await signedIn('leaver@example.com');
    const { tokens: stays } = await signedIn('stays@example.com');
    // What `npx gateway users sign-out <sub>` runs, on a connection of its own to the shared store.
    const cli = await instances.openStore();
    try {
      const quiet = { info() {}, warn() {} };
      const signOut = await createCliSignOut(instances.gateways[0]!.app.gateway.config, cli, quiet);
      const result = await signOut.signOutAccount(sub);
      assert.ok(result.grants >= 1, JSON.stringify(result));
    } finally {
      await cli.close();
    }
    await inactiveEverywhere(tokens.access_token, 'signed out by an operator');

    lb.use(1);
    const endpoint = String(app.config.serverMetadata().introspection_endpoint);
    const [active, ended, forged] = await introspectWithAuthlib(endpoint, appMeta, [
      stays.access_token,
      tokens.access_token,
      'not-a-token',
    ]);
    assert.equal(active?.status, 200);
    const body = active?.body ?? {};
    assert.equal(body['active'], true);
    for (const member of ['scope', 'client_id', 'sub', 'aud', 'iss', 'exp', 'iat', 'token_type']) {
      assert.ok(body[member] !== undefined, `Authlib: ${member} in the answer`);
    }
    assert.equal(body['client_id'], appMeta.client_id);
    assert.deepEqual(ended?.body, { active: false });
    assert.deepEqual(forged?.body, { active: false });
    const [forResourceServer] = await introspectWithAuthlib(endpoint, apiMeta, [stays.access_token]);
    assert.equal(forResourceServer?.body['active'], true, 'Authlib as the resource server');
  });
});
