/**
 * How the gateway copes with Google's ways: no id_token, short-lived access tokens that answer
 * 401, refresh tokens only on first consent, and invalid_grant when the user removed access; and
 * with upstreams that refuse the code grant's own access token at userinfo.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  redeem,
  signIn,
  startAuthorization,
  type TestApp,
} from './helpers/relying-party.ts';

const appMeta = confidentialClient('upstream-app');

describe('upstream answers without an id_token', () => {
  let gw: StartedGateway;
  let app: TestApp;
  before(async () => {
    gw = await startGateway({ clients: [appMeta], google: { omitIdToken: true } });
    app = await discoverApp(gw.issuer, appMeta);
  });
  after(async () => gw?.close());

  it('takes the identity from userinfo and signs the user in', async () => {
    const tokens = await signIn(createBrowser(), app, gw.google.issuer, {
      email: 'noid@example.com',
      name: 'No Id',
      sub: 'google-noid',
    });
    const claims = tokens.claims();
    assert.equal(claims?.['email'], 'noid@example.com');
    assert.equal(claims?.['name'], 'No Id');
    const info = await client.fetchUserInfo(app.config, tokens.access_token, String(claims?.sub));
    assert.equal(info.email, 'noid@example.com');
    // and the same upstream sub maps to the same account the next time
    const again = await signIn(createBrowser(), app, gw.google.issuer, {
      email: 'noid@example.com',
      sub: 'google-noid',
    });
    assert.equal(again.claims()?.sub, claims?.sub);
  });
});

describe('upstream access token expiry, refresh and invalid_grant', () => {
  let gw: StartedGateway;
  let app: TestApp;
  before(async () => {
    gw = await startGateway({
      clients: [appMeta],
      google: { accessTokenTtl: 2 },
      // re-check the upstream account on every app refresh, so each refresh below reaches Google
      env: { GATEWAY_UPSTREAM_RECHECK_INTERVAL: '0' },
    });
    app = await discoverApp(gw.issuer, appMeta);
  });
  after(async () => gw?.close());

  it('refreshes the expired upstream token once for two parallel app refreshes', async () => {
    const tokens = await signIn(createBrowser(), app, gw.google.issuer, {
      email: 'par@example.com',
      sub: 'google-par',
    });
    const sub = String(tokens.claims()?.sub);
    const stored = await gw.app.gateway.vault.load(sub);
    assert.ok(stored?.refresh_token, 'the gateway kept the upstream refresh token');
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const before = gw.google.idp.counters.refresh;
    // two apps' worth of refreshes at once (one token each: sign in twice in parallel browsers)
    const other = await signIn(createBrowser(), app, gw.google.issuer, { email: 'par@example.com', sub: 'google-par' });
    const beforeBoth = gw.google.idp.counters.refresh;
    assert.equal(beforeBoth, before, 'signing in does not refresh upstream');
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const [a, b] = await Promise.all([
      client.refreshTokenGrant(app.config, tokens.refresh_token ?? ''),
      client.refreshTokenGrant(app.config, other.refresh_token ?? ''),
    ]);
    assert.ok(a.access_token && b.access_token);
    assert.equal(gw.google.idp.counters.refresh, beforeBoth + 1, 'exactly one upstream refresh');
  });

  it('refreshes and retries once when the upstream answers 401 to a token it had not said was expired', async () => {
    const tokens = await signIn(createBrowser(), app, gw.google.issuer, {
      email: 'early@example.com',
      sub: 'google-early',
    });
    const sub = String(tokens.claims()?.sub);
    const stored = await gw.app.gateway.vault.load(sub);
    assert.ok(stored);
    // Google can invalidate a token before its expires_in (password change): pretend it is still
    // valid for an hour, then let the real one expire at the fake Google.
    await gw.app.gateway.vault.save(sub, { ...stored, expires_at: Date.now() + 3_600_000 });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    const userinfoBefore = gw.google.idp.counters.userinfo;
    const refreshBefore = gw.google.idp.counters.refresh;
    const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '');
    assert.ok(refreshed.access_token);
    assert.equal(gw.google.idp.counters.refresh, refreshBefore + 1, 'one upstream refresh after the 401');
    assert.equal(gw.google.idp.counters.userinfo, userinfoBefore + 2, 'the 401, then the retry');
  });

  it('answers invalid_grant (not 500) when Google refuses the refresh, and sends the next sign-in to Google', async () => {
    const browser = createBrowser();
    const tokens = await signIn(browser, app, gw.google.issuer, { email: 'gone@example.com', sub: 'google-gone' });
    await new Promise((resolve) => setTimeout(resolve, 2100));
    gw.google.idp.behaviour.failRefreshWithInvalidGrant = true;
    try {
      const response = await fetch(app.config.serverMetadata().token_endpoint ?? '', {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`${appMeta.client_id}:${appMeta.client_secret}`).toString('base64')}`,
        },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' }),
      });
      assert.equal(response.status, 400);
      assert.equal(((await response.json()) as { error: string }).error, 'invalid_grant');
    } finally {
      gw.google.idp.behaviour.failRefreshWithInvalidGrant = false;
    }
    // the upstream link ended: the same browser must go through Google again
    const before = gw.google.idp.counters.authorization;
    const start = await startAuthorization(app);
    const result = await authorizeInBrowser(browser, app, start, gw.google.issuer, {
      email: 'gone@example.com',
      sub: 'google-gone',
    });
    assert.ok(result.callback?.searchParams.get('code'));
    assert.ok(gw.google.idp.counters.authorization > before, 'the sign-in went to Google');
  });
});

describe('refresh token only on first consent (Google)', () => {
  let gw: StartedGateway;
  let app: TestApp;
  before(async () => {
    gw = await startGateway({ clients: [appMeta] });
    app = await discoverApp(gw.issuer, appMeta);
  });
  after(async () => gw?.close());

  it('asks Google for consent again when it gave no refresh token and none is stored', async () => {
    await signIn(createBrowser(), app, gw.google.issuer, { email: 'twice@example.com', sub: 'google-twice' });
    const tokens = await signIn(createBrowser(), app, gw.google.issuer, {
      email: 'twice@example.com',
      sub: 'google-twice',
    });
    const sub = String(tokens.claims()?.sub);
    // Forget the stored upstream tokens, as if the gateway's store had been reset.
    await gw.app.gateway.vault.remove(sub);
    const before = gw.google.idp.counters.authorization;
    const again = await signIn(createBrowser(), app, gw.google.issuer, {
      email: 'twice@example.com',
      sub: 'google-twice',
    });
    assert.equal(again.claims()?.sub, sub);
    assert.equal(gw.google.idp.counters.authorization, before + 2, 'a first try, then one with prompt=consent');
    assert.ok((await gw.app.gateway.vault.load(sub))?.refresh_token, 'now a refresh token is stored');
  });
});

describe("userinfo refuses the code grant's access token at sign-in (401 invalid_token), no id_token", () => {
  describe('with a refresh token from the code grant', () => {
    let gw: StartedGateway;
    let app: TestApp;
    before(async () => {
      gw = await startGateway({
        clients: [appMeta],
        google: { omitIdToken: true, refreshTokenOnlyOnFirstConsent: false },
      });
      app = await discoverApp(gw.issuer, appMeta);
    });
    after(async () => gw?.close());

    it('refreshes once, retries once, and signs the user in as the same sub', async () => {
      const identity = { email: 'entra@example.com', sub: 'upstream-entra' };
      const earlier = await signIn(createBrowser(), app, gw.google.issuer, identity);
      const sub = earlier.claims()?.sub;
      assert.ok(sub);
      const refreshBefore = gw.google.idp.counters.refresh;
      const userinfoBefore = gw.google.idp.counters.userinfo;
      gw.google.refuseUserinfo = 1;
      const tokens = await signIn(createBrowser(), app, gw.google.issuer, identity);
      assert.equal(gw.google.refuseUserinfo, 0, 'the first access token was refused');
      assert.equal(tokens.claims()?.sub, sub, 'the same local sub as before');
      assert.equal(gw.google.idp.counters.refresh, refreshBefore + 1, 'exactly one refresh grant reached the upstream');
      assert.equal(gw.google.idp.counters.userinfo, userinfoBefore + 1, 'one retry, answered');
      const stored = await gw.app.gateway.vault.load(String(sub));
      assert.ok(stored?.refresh_token, 'the refresh token is kept for later');
    });
  });

  describe('without a refresh token', () => {
    let gw: StartedGateway;
    let app: TestApp;
    before(async () => {
      // Google's rule: a refresh token only on the first consent, so a second sign-in has none.
      gw = await startGateway({ clients: [appMeta], google: { omitIdToken: true } });
      app = await discoverApp(gw.issuer, appMeta);
    });
    after(async () => gw?.close());

    it('answers one clear page with a way to start again, not a loop', async () => {
      const identity = { email: 'norefresh@example.com', sub: 'upstream-norefresh' };
      const sub = (await signIn(createBrowser(), app, gw.google.issuer, identity)).claims()?.sub;
      const browser = createBrowser();
      const start = await startAuthorization(app);
      const before = { authorization: gw.google.idp.counters.authorization, refresh: gw.google.idp.counters.refresh };
      gw.google.refuseUserinfo = 1;
      const result = await authorizeInBrowser(browser, app, start, gw.google.issuer, identity);
      assert.equal(result.callback, undefined, 'no code reaches the app');
      assert.equal(result.page?.status, 502);
      const html = (await result.page?.text()) ?? '';
      assert.match(html, /refused the access token it had just issued, and no refresh token could replace it/);
      const startAgain = /<a class="button" href="([^"]+)">Start again<\/a>/.exec(html)?.[1];
      assert.ok(startAgain, 'the page offers a way to start again');
      assert.equal(
        gw.google.idp.counters.authorization,
        before.authorization + 1,
        'one trip to the upstream, no automatic retry',
      );
      assert.equal(gw.google.idp.counters.refresh, before.refresh, 'nothing to refresh with');

      // Starting again resumes the app's request and, the upstream behaving, signs the user in.
      const again = await authorizeInBrowser(
        browser,
        app,
        { ...start, url: new URL(startAgain.replaceAll('&amp;', '&')) },
        gw.google.issuer,
        identity,
      );
      assert.ok(again.callback, `stopped at HTTP ${again.page?.status}`);
      assert.equal((await redeem(app, start, again.callback)).claims()?.sub, sub);
    });
  });
});
