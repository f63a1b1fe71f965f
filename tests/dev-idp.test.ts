/**
 * The development IdP against a real relying party (openid-client 6), standalone as the fake
 * Google and mounted under /dev-idp.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oidc from 'openid-client';
import { createDevIdp } from '../gateway/dev/create-dev-idp.ts';
import { defaultSubject } from '../gateway/dev/account-store.ts';
import type { DevIdpOptions } from '../gateway/dev/create-dev-idp.ts';
import { signInAtFakeGoogle, startFakeGoogle } from './helpers/fake-google.ts';
import type { FakeGoogle, FakeGoogleIdentity } from './helpers/fake-google.ts';

const CLIENT_ID = 'gateway-client';
const CLIENT_SECRET = 'gateway-secret-for-tests';
/** Never fetched: the test reads the code from the redirect's Location. */
const REDIRECT_URI = 'http://127.0.0.1:9/oauth2/callback';
const CLIENTS = [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [REDIRECT_URI] }];

type JarFetch = (url: string, init?: RequestInit) => Promise<Response>;

/** A browser's cookie handling, reduced to what the IdP uses (RFC 6265 §5.3, host-only). */
function cookieJar(): JarFetch {
  const cookies = new Map<string, { host: string; path: string; name: string; value: string }>();
  const pathMatches = (cookiePath: string, path: string): boolean =>
    path === cookiePath || path.startsWith(cookiePath.endsWith('/') ? cookiePath : `${cookiePath}/`);
  return async (url, init) => {
    const target = new URL(url);
    const header = [...cookies.values()]
      .filter((c) => c.host === target.host && pathMatches(c.path, target.pathname))
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const headers = new Headers(init?.headers);
    if (header !== '') headers.set('cookie', header);
    const response = await fetch(url, { ...init, headers });
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';').map((part) => part.trim());
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      let path = target.pathname.slice(0, target.pathname.lastIndexOf('/')) || '/';
      let expired = false;
      for (const attribute of attributes) {
        const [key = '', attributeValue = ''] = attribute.split('=');
        if (key.toLowerCase() === 'path') path = attributeValue;
        if (key.toLowerCase() === 'expires' && Date.parse(attributeValue) <= Date.now()) expired = true;
        if (key.toLowerCase() === 'max-age' && Number(attributeValue) <= 0) expired = true;
      }
      const key = `${target.host} ${path} ${name}`;
      if (expired) cookies.delete(key);
      else cookies.set(key, { host: target.host, path, name, value });
    }
    return response;
  };
}

async function relyingParty(issuer: string): Promise<oidc.Configuration> {
  return oidc.discovery(new URL(issuer), CLIENT_ID, CLIENT_SECRET, undefined, {
    execute: [oidc.allowInsecureRequests], // http:// on loopback only
  });
}

interface SignInOptions {
  jar?: JarFetch;
  params?: Record<string, string>;
  /** False when the IdP omits id_token: then no nonce may be expected (an IdP may answer the code grant without one). */
  expectIdToken?: boolean;
}

/** One authorization code flow with PKCE (RFC 7636, S256), state and nonce. */
async function signIn(config: oidc.Configuration, identity: FakeGoogleIdentity, options: SignInOptions = {}) {
  const jar = options.jar ?? cookieJar();
  const codeVerifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const authUrl = oidc.buildAuthorizationUrl(config, {
    redirect_uri: REDIRECT_URI,
    scope: 'openid email profile',
    code_challenge: await oidc.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
    state,
    nonce,
    ...options.params,
  });
  const location = await signInAtFakeGoogle(authUrl.href, jar, identity);
  assert.ok(location.startsWith(`${REDIRECT_URI}?`), 'the sign-in ends at the redirect_uri');
  const expectIdToken = options.expectIdToken ?? true;
  return oidc.authorizationCodeGrant(config, new URL(location), {
    pkceCodeVerifier: codeVerifier,
    expectedState: state,
    ...(expectIdToken ? { expectedNonce: nonce, idTokenExpected: true } : {}),
  });
}

async function withFakeGoogle(
  options: Omit<DevIdpOptions, 'issuer' | 'clients'>,
  test: (google: FakeGoogle, config: oidc.Configuration) => Promise<void>,
): Promise<void> {
  const google = await startFakeGoogle({ clients: CLIENTS, ...options });
  try {
    await test(google, await relyingParty(google.issuer));
  } finally {
    await google.close();
  }
}

describe('dev IdP as the fake Google', () => {
  let google: FakeGoogle;
  let config: oidc.Configuration;

  before(async () => {
    google = await startFakeGoogle({ clients: CLIENTS });
    config = await relyingParty(google.issuer);
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
    const tokens = await signIn(config, { email: 'Ada@Example.com', name: 'Ada Lovelace' });
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
    const tokens = await signIn(config, {
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
    const first = await signIn(config, { email: 'one@example.com' }, { jar });
    const second = await signIn(config, { email: 'two@example.com' }, { jar, params: { prompt: 'select_account' } });
    assert.equal(first.claims()?.email, 'one@example.com');
    assert.equal(second.claims()?.email, 'two@example.com');
  });

  it('serves a self-contained, labelled sign-in page', async () => {
    const jar = cookieJar();
    const authUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid email',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
      login_hint: 'hint@example.com',
    });
    const redirect = await jar(authUrl.href, { redirect: 'manual' });
    assert.equal(redirect.status, 303);
    const page = await jar(new URL(redirect.headers.get('location') ?? '', authUrl).href, { redirect: 'manual' });
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    const html = await page.text();
    assert.match(html, /<label for="email">/);
    assert.match(html, /<label for="name">/);
    assert.match(html, /name="viewport"/);
    assert.match(html, /value="hint@example.com"/);
    assert.doesNotMatch(html, /<script|src=|href=/i);
  });

  it('refuses a request without PKCE', async () => {
    const authUrl = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', state: 'x' });
    const response = await fetch(authUrl, { redirect: 'manual' });
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('error'), 'invalid_request');
  });

  it('counts authorization, token and userinfo requests', async () => {
    const before = { ...google.idp.counters };
    const tokens = await signIn(config, { email: 'count@example.com' });
    await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck);
    assert.equal(google.idp.counters.authorization - before.authorization, 1);
    assert.equal(google.idp.counters.token - before.token, 1);
    assert.equal(google.idp.counters.userinfo - before.userinfo, 1);
    assert.equal(google.idp.counters.refresh - before.refresh, 0);
  });

  it('revokeUserGrants makes the refresh token invalid_grant and re-enables the first-consent token', async () => {
    const offline = { access_type: 'offline' };
    const first = await signIn(config, { email: 'revoked@example.com' }, { params: offline });
    assert.ok(first.refresh_token);
    await google.idp.revokeUserGrants(defaultSubject('revoked@example.com'));
    await assert.rejects(oidc.refreshTokenGrant(config, first.refresh_token), { error: 'invalid_grant' });
    const again = await signIn(config, { email: 'revoked@example.com' }, { params: offline });
    assert.ok(again.refresh_token);
  });
});

describe('Google refresh token rules', () => {
  it('issues one only with access_type=offline on first consent, again only with prompt=consent', async () => {
    await withFakeGoogle({}, async (_google, config) => {
      const identity = { email: 'offline@example.com' };
      const offline = { access_type: 'offline' };
      const jar = cookieJar();

      const online = await signIn(config, identity, { jar });
      assert.equal(online.refresh_token, undefined, 'online access: none');

      const first = await signIn(config, identity, { jar, params: offline });
      assert.ok(first.refresh_token, 'first offline consent: one');

      const second = await signIn(config, identity, { jar, params: offline });
      assert.equal(second.refresh_token, undefined, 'second sign-in, same browser: none');

      const otherBrowser = await signIn(config, identity, { params: offline });
      assert.equal(otherBrowser.refresh_token, undefined, 'second sign-in, new browser: none');

      const reconsent = await signIn(config, identity, { jar, params: { ...offline, prompt: 'consent' } });
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
      assert.ok((await signIn(config, { email: 'a@example.com' }, { params })).refresh_token);
      assert.ok((await signIn(config, { email: 'a@example.com' }, { params })).refresh_token);
    });
  });

  it('answers userinfo 401 once the access token expires, and the refresh token gets a new one', async () => {
    // exp = floor(now) + ttl, so a 1 s token may expire within a millisecond; 2 s is safe.
    await withFakeGoogle({ accessTokenTtl: 2 }, async (google, config) => {
      const tokens = await signIn(config, { email: 'short@example.com' }, { params: { access_type: 'offline' } });
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
      const tokens = await signIn(config, { email: 'fail@example.com' }, { params: { access_type: 'offline' } });
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
      const tokens = await signIn(config, { email: 'noid@example.com' }, { expectIdToken: false });
      assert.equal(tokens.id_token, undefined);
      assert.equal(tokens.claims(), undefined);
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, oidc.skipSubjectCheck);
      assert.equal(userinfo.sub, defaultSubject('noid@example.com'));

      google.idp.behaviour.omitIdToken = false;
      const withIdToken = await signIn(config, { email: 'noid@example.com' });
      assert.equal(withIdToken.claims()?.sub, userinfo.sub);
    });
  });
});

describe('autoConsent: false', () => {
  it('shows a consent page and continues when allowed', async () => {
    await withFakeGoogle({ autoConsent: false }, async (google, config) => {
      const tokens = await signIn(config, { email: 'consent@example.com' });
      assert.equal(tokens.claims()?.email, 'consent@example.com');
      assert.equal(google.idp.counters.authorization, 1);
    });
  });
});

describe('dev IdP mounted under /dev-idp', () => {
  it('serves discovery under the prefix and signs in', async () => {
    let handler:
      | ((req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void)
      | undefined;
    // Like the gateway: only /dev-idp/* reaches the IdP.
    const server = createServer((req, res) => {
      if (handler !== undefined && (req.url === '/dev-idp' || req.url?.startsWith('/dev-idp/'))) {
        handler(req, res);
        return;
      }
      res.statusCode = 404;
      res.end('gateway route');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const issuer = `http://127.0.0.1:${port}/dev-idp`;
      const idp = createDevIdp({ issuer, clients: CLIENTS, mountPath: '/dev-idp' });
      handler = idp.handler;

      const config = await relyingParty(issuer);
      const metadata = config.serverMetadata();
      assert.equal(metadata.issuer, issuer);
      for (const endpoint of [
        metadata.authorization_endpoint,
        metadata.token_endpoint,
        metadata.userinfo_endpoint,
        metadata.jwks_uri,
      ]) {
        assert.ok(endpoint?.startsWith(`${issuer}/`), `${endpoint} is under the mount path`);
      }

      const tokens = await signIn(config, { email: 'mounted@example.com' }, { params: { access_type: 'offline' } });
      assert.equal(tokens.claims()?.iss, issuer);
      assert.ok(tokens.refresh_token);
      const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, tokens.claims()?.sub ?? '');
      assert.equal(userinfo.email, 'mounted@example.com');
      assert.ok((await oidc.refreshTokenGrant(config, tokens.refresh_token)).access_token);
    } finally {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    }
  });

  it('refuses a mountPath that is not the issuer path', () => {
    assert.throws(
      () => createDevIdp({ issuer: 'http://localhost:4000/dev-idp', clients: CLIENTS, mountPath: '/other' }),
      TypeError,
    );
  });
});
