/**
 * Two gateway instances, one store, one issuer: what a deployment behind a load balancer does.
 *
 * Both instances are built as two processes would be (tests/helpers/instances-behind-balancer.ts):
 * the same settings, each its own connection to the shared Redis under a key prefix of this
 * test's own, one fake Google, and a steerable load balancer that holds the issuer's address and
 * picks the instance per request. A user signs in through instance A;
 * refresh, userinfo, introspection, revocation and logout then go through instance B only. Then
 * a whole sign-in alternates between the instances request by request. An unreachable Redis
 * fails the suite; it never skips.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { signInAtFakeGoogle, type FakeGoogle } from './helpers/fake-google.ts';
import { startInstancesBehindBalancer, type InstancesBehindBalancer } from './helpers/instances-behind-balancer.ts';
import type { LoadBalancer } from './helpers/load-balancer.ts';
import { logOut } from './helpers/log-out.ts';
import { confidentialClient, discoverApp, signIn, startAuthorization, type TestApp } from './helpers/relying-party.ts';

describe('two gateway instances on one Redis behind one issuer', () => {
  let instances: InstancesBehindBalancer;
  let google: FakeGoogle;
  let lb: LoadBalancer;
  let app: TestApp;
  const appMeta = confidentialClient('shared-app');

  before(async () => {
    instances = await startInstancesBehindBalancer({ name: 'two-instances', clients: [appMeta] });
    ({ google, lb } = instances);
    lb.use(0);
    app = await discoverApp(lb.url, appMeta);
  });
  after(async () => instances?.close());

  it('publishes the same discovery and keys from both instances', async () => {
    const seen = [];
    for (const index of [0, 1]) {
      lb.use(index);
      const discovery = (await (await fetch(`${lb.url}/.well-known/openid-configuration`)).json()) as {
        issuer: string;
        jwks_uri: string;
      };
      const jwks = await (await fetch(discovery.jwks_uri)).json();
      seen.push({ discovery, jwks });
    }
    assert.equal(seen[0]?.discovery.issuer, lb.url);
    assert.deepEqual(seen[0]?.discovery, seen[1]?.discovery);
    assert.deepEqual(seen[0]?.jwks, seen[1]?.jwks, 'one JWKS: the signing keys live in the store');
  });

  it('signs in through A; refresh, userinfo, introspection, revocation and logout work through B', async () => {
    const browser = createBrowser();
    lb.use(0);
    const servedBefore = [...lb.served];
    const tokens = await signIn(browser, app, google.issuer, { email: 'ada@example.com', name: 'Ada' });
    const sub = tokens.claims()?.sub ?? '';
    assert.ok(tokens.refresh_token && tokens.id_token && sub);
    assert.ok(lb.served[0]! > servedBefore[0]!, 'A did the sign-in');
    assert.equal(lb.served[1], servedBefore[1], 'B saw nothing of it');

    lb.use(1);
    let atA = lb.served[0];
    // Refresh (rotating): B finds the grant and the token A wrote, and rotates it.
    const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token);
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
    assert.equal(refreshed.claims()?.sub, sub);
    // UserInfo: B verifies the access token A's keys signed and finds the account A created.
    const info = await client.fetchUserInfo(app.config, refreshed.access_token, sub);
    assert.equal(info.email, 'ada@example.com');
    // Introspection (RFC 7662) of the rotated refresh token.
    const active = await client.tokenIntrospection(app.config, refreshed.refresh_token);
    assert.equal(active.active, true);
    assert.equal(active.sub, sub);
    // Revocation (RFC 7009) on B holds on A as well.
    await client.tokenRevocation(app.config, refreshed.refresh_token, { token_type_hint: 'refresh_token' });
    assert.equal((await client.tokenIntrospection(app.config, refreshed.refresh_token)).active, false);
    assert.equal(lb.served[0], atA, 'A served none of it');
    lb.use(0);
    await assert.rejects(client.refreshTokenGrant(app.config, refreshed.refresh_token), { error: 'invalid_grant' });
    lb.use(1);
    atA = lb.served[0];

    // Logout on B ends the SSO session A opened: the next sign-in goes back to Google.
    const again = await signIn(browser, app, google.issuer, { email: 'never-asked@example.com' });
    assert.equal(again.claims()?.['email'], 'ada@example.com', 'still signed in (SSO) before the logout');
    const landed = await logOut(browser, app, again.id_token ?? '');
    assert.equal(landed.origin + landed.pathname, String((appMeta.post_logout_redirect_uris as string[])[0]));
    await assert.rejects(
      client.refreshTokenGrant(app.config, again.refresh_token ?? ''),
      { error: 'invalid_grant' },
      'logout revoked the grant',
    );
    assert.equal(lb.served[0], atA, 'A served none of it');

    lb.use(0);
    const googleBefore = google.idp.counters.authorization;
    const start = await startAuthorization(app);
    const hop = await browser.follow(start.url, (url) => url.href.startsWith(google.issuer));
    assert.ok(hop.location, 'A sends the signed-out browser back to Google');
    assert.equal(google.idp.counters.authorization, googleBefore, 'only redirected so far');
  });

  it('completes a sign-in whose requests alternate between the instances', async () => {
    lb.use('round-robin');
    const before = [...lb.served];
    const tokens = await signIn(createBrowser(), app, google.issuer, { email: 'grace@example.com' });
    const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '');
    const info = await client.fetchUserInfo(app.config, refreshed.access_token, tokens.claims()?.sub ?? '');
    assert.equal(info.email, 'grace@example.com');
    const share = lb.served.map((n, i) => n - (before[i] ?? 0));
    assert.ok(
      share.every((n) => n >= 3),
      `both instances took part: ${share.join(' / ')}`,
    );
  });

  it('refuses a signed-out forward-auth cookie on the other instance within 1 s', async () => {
    const browser = createBrowser();
    lb.use(0);
    const start = await browser.follow(`${lb.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(google.issuer));
    assert.ok(start.location);
    const back = await signInAtFakeGoogle(start.location.href, (url, init) => browser.fetch(url, init), {
      email: 'slo@example.com',
    });
    await browser.follow(back);
    const cookie = browser.cookies(`${lb.url}/`).find((c) => c.name === '_gateway_auth');
    assert.ok(cookie, 'signed in through A');
    const check = () => fetch(`${lb.url}/oauth2/auth`, { headers: { cookie: `_gateway_auth=${cookie.value}` } });
    lb.use(0);
    assert.equal((await check()).status, 202, 'A admits the cookie (and caches its verification)');

    lb.use(1);
    const signOut = await browser.fetch(`${lb.url}/oauth2/sign_out`);
    assert.equal(signOut.status, 302);
    const signedOutAt = Date.now();

    lb.use(0);
    let status = 0;
    while (Date.now() - signedOutAt < 1000) {
      status = (await check()).status;
      if (status === 401) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const elapsed = Date.now() - signedOutAt;
    assert.equal(status, 401, 'instance A refuses the old cookie');
    assert.ok(elapsed < 1000, `within 1 s (took ${elapsed} ms)`);
    console.log(`# forward-auth sign-out on B reached A in ${elapsed} ms`);
  });
});
