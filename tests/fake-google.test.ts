/**
 * The fake Google (tests/helpers/google-like-idp.ts) against a real relying party (openid-client
 * 6): the ways of Google that the other tests rely on when they use it as the gateway's upstream.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { defaultSubject } from '../gateway/dev/account-store.ts';
import { startFakeGoogle, type FakeGoogle, type FakeGoogleOptions } from './helpers/fake-google.ts';
import {
  cookieJar,
  discoverIdp,
  IDP_CLIENTS,
  REDIRECT_URI,
  signInAtIdp,
  signInPage,
} from './helpers/idp-relying-party.ts';

async function withFakeGoogle(
  options: Omit<FakeGoogleOptions, 'clients'>,
  test: (google: FakeGoogle, config: oidc.Configuration) => Promise<void>,
): Promise<void> {
  const google = await startFakeGoogle({ clients: IDP_CLIENTS, ...options });
  try {
    await test(google, await discoverIdp(google.issuer));
  } finally {
    await google.close();
  }
}

describe('the fake Google', () => {
  let google: FakeGoogle;
  let config: oidc.Configuration;

  before(async () => {
    google = await startFakeGoogle({ clients: IDP_CLIENTS });
    config = await discoverIdp(google.issuer);
  });
  after(() => google.close());

  it('publishes discovery like an OpenID Provider', () => {
    const metadata = config.serverMetadata();
    assert.equal(metadata.issuer, google.issuer);
    assert.equal(metadata.authorization_endpoint, `${google.issuer}/auth`);
    assert.equal(metadata.userinfo_endpoint, `${google.issuer}/me`);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.ok(metadata.scopes_supported?.includes('offline_access'));
    assert.ok(metadata.claims_supported?.includes('hd'));
    assert.ok(metadata.revocation_endpoint);
  });

  it('signs in: code → tokens → userinfo, with Google-shaped claims', async () => {
    const tokens = await signInAtIdp(config, { email: 'Ada@Example.com', name: 'Ada Lovelace' });
    const claims = tokens.claims();
    assert.ok(claims);
    assert.equal(claims.sub, defaultSubject('ada@example.com'));
    assert.match(claims.sub, /^\d{21}$/);
    assert.equal(claims.email, 'Ada@Example.com');
    assert.equal(claims.email_verified, true);
    assert.equal(claims.name, 'Ada Lovelace');
    assert.equal(claims.given_name, 'Ada');
    assert.equal(claims.family_name, 'Lovelace');
    assert.equal(claims.hd, undefined);
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.refresh_token, undefined, 'no refresh token without access_type=offline');
    assert.doesNotMatch(tokens.access_token, /^eyJ/, 'access tokens are opaque');

    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
    assert.equal(userinfo.email, 'Ada@Example.com');
    assert.equal(userinfo.name, 'Ada Lovelace');
  });

  it('takes sub, email_verified and hd from the form when a test sends them', async () => {
    const tokens = await signInAtIdp(config, {
      email: 'grace@corp.example',
      sub: '109876543210987654321',
      email_verified: false,
      hd: 'corp.example',
    });
    const claims = tokens.claims();
    assert.equal(claims?.sub, '109876543210987654321');
    assert.equal(claims?.email_verified, false);
    assert.equal(claims?.hd, 'corp.example');
    assert.equal(claims?.name, 'grace', 'display name defaults to the local part');
  });

  it('signs a second user in the same browser without a sign-out page', async () => {
    const jar = cookieJar();
    const first = await signInAtIdp(config, { email: 'one@example.com' }, { jar });
    const second = await signInAtIdp(
      config,
      { email: 'two@example.com' },
      { jar, params: { prompt: 'select_account' } },
    );
    assert.equal(first.claims()?.email, 'one@example.com');
    assert.equal(second.claims()?.email, 'two@example.com');
  });

  it("serves the development IdP's labelled sign-in page, and the stylesheet it links", async () => {
    const { response, html } = await signInPage(config, { login_hint: 'hint@example.com' });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(html, /<label for="email">/);
    assert.match(html, /value="hint@example.com"/);
    assert.match(html, /<link rel="stylesheet" href="\/assets\/gateway.css">/);
    const css = await fetch(`${google.issuer}/assets/gateway.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
    assert.match(await css.text(), /\.tag\{/);
  });

  it('refuses a request without PKCE', async () => {
    const authUrl = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', state: 'x' });
    const response = await fetch(authUrl, { redirect: 'manual' });
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('error'), 'invalid_request');
  });

  it('counts authorization, token and userinfo requests', async () => {
    const before = { ...google.idp.counters };
    const tokens = await signInAtIdp(config, { email: 'count@example.com' });
    await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck);
    assert.equal(google.idp.counters.authorization - before.authorization, 1);
    assert.equal(google.idp.counters.token - before.token, 1);
    assert.equal(google.idp.counters.userinfo - before.userinfo, 1);
    assert.equal(google.idp.counters.refresh - before.refresh, 0);
  });

  it('revokeUserGrants makes the refresh token invalid_grant and re-enables the first-consent token', async () => {
    const offline = { access_type: 'offline' };
    const first = await signInAtIdp(config, { email: 'revoked@example.com' }, { params: offline });
    assert.ok(first.refresh_token);
    await google.idp.revokeUserGrants(defaultSubject('revoked@example.com'));
    await assert.rejects(oidc.refreshTokenGrant(config, first.refresh_token), { error: 'invalid_grant' });
    const again = await signInAtIdp(config, { email: 'revoked@example.com' }, { params: offline });
    assert.ok(again.refresh_token);
  });
});

describe('Google refresh token rules', () => {
  it('issues one only with access_type=offline on first consent, again only with prompt=consent', async () => {
    await withFakeGoogle({}, async (_google, config) => {
      const identity = { email: 'offline@example.com' };
      const offline = { access_type: 'offline' };
      const jar = cookieJar();

      const online = await signInAtIdp(config, identity, { jar });
      assert.equal(online.refresh_token, undefined, 'online access: none');

      const first = await signInAtIdp(config, identity, { jar, params: offline });
      assert.ok(first.refresh_token, 'first offline consent: one');

      const second = await signInAtIdp(config, identity, { jar, params: offline });
      assert.equal(second.refresh_token, undefined, 'second sign-in, same browser: none');

      const otherBrowser = await signInAtIdp(config, identity, { params: offline });
      assert.equal(otherBrowser.refresh_token, undefined, 'second sign-in, new browser: none');

      const reconsent = await signInAtIdp(config, identity, { jar, params: { ...offline, prompt: 'consent' } });
      assert.ok(reconsent.refresh_token, 'prompt=consent: one again');

      // Not rotated: the refresh response has no refresh_token and the old one keeps working.
      const refreshed = await oidc.refreshTokenGrant(config, first.refresh_token);
      assert.equal(refreshed.refresh_token, undefined);
      assert.ok(refreshed.access_token);
      await oidc.refreshTokenGrant(config, first.refresh_token);
    });
  });

  it('issues one on every offline request when refreshTokenOnlyOnFirstConsent is false', async () => {
    await withFakeGoogle({ refreshTokenOnlyOnFirstConsent: false }, async (_google, config) => {
      const params = { access_type: 'offline' };
      assert.ok((await signInAtIdp(config, { email: 'a@example.com' }, { params })).refresh_token);
      assert.ok((await signInAtIdp(config, { email: 'a@example.com' }, { params })).refresh_token);
    });
  });

  it('answers userinfo 401 once the access token expires, and the refresh token gets a new one', async () => {
    // exp = floor(now) + ttl, so a 1 s token may expire within a millisecond; 2 s is safe.
    await withFakeGoogle({ accessTokenTtl: 2 }, async (google, config) => {
      const tokens = await signInAtIdp(config, { email: 'short@example.com' }, { params: { access_type: 'offline' } });
      assert.ok(tokens.refresh_token);
      const sub = tokens.claims()?.sub ?? '';
      await oidc.fetchUserInfo(config, tokens.access_token, sub);
      await sleep(2100);

      const expired = await oidc.fetchUserInfo(config, tokens.access_token, sub).then(
        () => assert.fail('userinfo accepted an expired access token'),
        (err: unknown) => err,
      );
      assert.ok(expired instanceof oidc.WWWAuthenticateChallengeError);
      assert.equal(expired.status, 401);
      assert.equal(expired.cause[0]?.parameters.error, 'invalid_token');

      const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
      const userinfo = await oidc.fetchUserInfo(config, refreshed.access_token, sub);
      assert.equal(userinfo.email, 'short@example.com');
      assert.equal(google.idp.counters.refresh, 1);
    });
  });

  it("refuses refresh with Google's invalid_grant while failRefreshWithInvalidGrant is on", async () => {
    await withFakeGoogle({}, async (google, config) => {
      const tokens = await signInAtIdp(config, { email: 'fail@example.com' }, { params: { access_type: 'offline' } });
      assert.ok(tokens.refresh_token);
      google.idp.behaviour.failRefreshWithInvalidGrant = true;
      await assert.rejects(oidc.refreshTokenGrant(config, tokens.refresh_token), (err: unknown) => {
        assert.ok(err instanceof oidc.ResponseBodyError);
        assert.equal(err.status, 400);
        assert.equal(err.error, 'invalid_grant');
        assert.equal(err.error_description, 'Token has been expired or revoked.');
        return true;
      });
      google.idp.behaviour.failRefreshWithInvalidGrant = false;
      assert.ok((await oidc.refreshTokenGrant(config, tokens.refresh_token)).access_token);
    });
  });
});

describe('omitIdToken', () => {
  it('sends no id_token, and the grant succeeds when no nonce is expected', async () => {
    await withFakeGoogle({ omitIdToken: true }, async (google, config) => {
      const tokens = await signInAtIdp(config, { email: 'noid@example.com' }, { expectIdToken: false });
      assert.equal(tokens.id_token, undefined);
      assert.equal(tokens.claims(), undefined);
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck);
      assert.equal(userinfo.sub, defaultSubject('noid@example.com'));

      google.idp.behaviour.omitIdToken = false;
      const withIdToken = await signInAtIdp(config, { email: 'noid@example.com' });
      assert.equal(withIdToken.claims()?.sub, userinfo.sub);
    });
  });
});

describe('autoConsent: false', () => {
  it('shows a consent page and continues when allowed', async () => {
    await withFakeGoogle({ autoConsent: false }, async (google, config) => {
      const tokens = await signInAtIdp(config, { email: 'consent@example.com' });
      assert.equal(tokens.claims()?.email, 'consent@example.com');
      assert.equal(google.idp.counters.authorization, 1);
    });
  });
});
