/**
 * Who may not sign in, and bad input on every step of the flow: each answered with a clear
 * OAuth error or page, never a 500.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createBrowser } from './helpers/browser.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  startAuthorization,
  type TestApp,
} from './helpers/relying-party.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';

const appMeta = confidentialClient('policy-app');
const spaMeta = {
  client_id: 'spa',
  token_endpoint_auth_method: 'none' as const,
  redirect_uris: ['http://127.0.0.1:9/spa/callback'],
  grant_types: ['authorization_code', 'refresh_token'],
  first_party: true,
};

describe('sign-in policy on the upstream claims', () => {
  let gw: StartedGateway;
  let app: TestApp;
  before(async () => {
    gw = await startGateway({
      clients: [appMeta],
      env: { UPSTREAM_HOSTED_DOMAIN: 'corp.example', GATEWAY_ALLOWED_EMAIL_DOMAINS: 'corp.example' },
    });
    app = await discoverApp(gw.issuer, appMeta);
  });
  after(async () => gw?.close());

  async function attempt(identity: { email: string; email_verified?: boolean; hd?: string }) {
    const start = await startAuthorization(app);
    return authorizeInBrowser(createBrowser(), app, start, gw.google.issuer, identity);
  }

  it('admits a verified address of the allowed Workspace domain', async () => {
    const result = await attempt({ email: 'ok@corp.example', hd: 'corp.example' });
    assert.ok(result.callback?.searchParams.get('code'));
  });

  const refusals: Array<[string, { email: string; email_verified?: boolean; hd?: string }, RegExp]> = [
    [
      'an unverified e-mail',
      { email: 'unverified@corp.example', email_verified: false, hd: 'corp.example' },
      /not verified/,
    ],
    ['a wrong hd claim', { email: 'x@corp.example', hd: 'other.example' }, /Workspace domain/],
    ['no hd claim at all', { email: 'x@corp.example' }, /Workspace domain/],
    ['a disallowed e-mail domain', { email: 'x@evil.example', hd: 'corp.example' }, /e-mail domain is not allowed/],
    ['an address with two @', { email: 'a@evil.com@corp.example', hd: 'corp.example' }, /not a valid address/],
  ];
  it('refuses an e-mail the upstream does not say is verified (no email_verified, as from Entra ID), saying so in English and Korean', async () => {
    const identity = { email: 'entra@corp.example', email_verified: 'unsent' as const, hd: 'corp.example' };
    for (const [language, lang, message] of [
      [
        'en-US,en;q=0.9',
        'en',
        /Your identity provider did not say that your e-mail address is verified, so this gateway cannot sign you in with it\./,
      ],
      [
        'ko-KR,ko;q=0.9,en;q=0.5',
        'ko',
        /ID 제공자가 이메일 주소의 인증 여부를 알려 주지 않아, 이 게이트웨이에서는 그 주소로 로그인할 수 없습니다\./,
      ],
    ] as const) {
      const result = await authorizeInBrowser(
        createBrowser({ acceptLanguage: language }),
        app,
        await startAuthorization(app),
        gw.google.issuer,
        identity,
      );
      assert.equal(result.callback, undefined, 'no code reaches the app');
      assert.equal(result.page?.status, 403);
      const html = (await result.page?.text()) ?? '';
      assert.match(html, new RegExp(`<html lang="${lang}"`));
      assert.match(html, message);
      assert.doesNotMatch(html, /is not verified at your identity provider/, 'not mistaken for an unverified address');
    }
  });

  for (const [name, identity, message] of refusals) {
    it(`refuses ${name} with a clear 403 page`, async () => {
      const result = await attempt(identity);
      assert.equal(result.callback, undefined, 'no code reaches the app');
      assert.equal(result.page?.status, 403);
      const html = (await result.page?.text()) ?? '';
      assert.match(html, message);
      assert.doesNotMatch(html, /at .*\.ts:\d+/, 'no stack trace');
    });
  }
});

describe('bad input at the OpenID Provider and the upstream callback', () => {
  let gw: StartedGateway;
  let app: TestApp;
  before(async () => {
    gw = await startGateway({ clients: [appMeta, spaMeta] });
    app = await discoverApp(gw.issuer, appMeta);
  });
  after(async () => gw?.close());

  const tokenRequest = (body: Record<string, string>, auth = true) =>
    fetch(`${gw.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(auth
          ? {
              authorization: `Basic ${Buffer.from(`${appMeta.client_id}:${appMeta.client_secret}`).toString('base64')}`,
            }
          : {}),
      },
      body: new URLSearchParams(body),
    });

  async function freshCode() {
    const start = await startAuthorization(app);
    const result = await authorizeInBrowser(createBrowser(), app, start, gw.google.issuer, {
      email: 'codes@example.com',
    });
    const code = result.callback?.searchParams.get('code');
    assert.ok(code);
    return { code, start };
  }

  it('refuses an unknown client with an error page, not a redirect', async () => {
    const response = await fetch(
      `${gw.issuer}/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https://evil.example/cb`,
      { redirect: 'manual' },
    );
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('location'), null);
    assert.match(await response.text(), /invalid_client/);
  });

  it('refuses a redirect_uri that is not registered exactly, without redirecting to it', async () => {
    for (const redirectUri of [
      'http://127.0.0.1:9/policy-app/callback/',
      'http://127.0.0.1:9/policy-app/callback?x=1',
      'https://evil.example/cb',
    ]) {
      const url = new URL(`${gw.issuer}/auth`);
      url.search = new URLSearchParams({
        client_id: 'policy-app',
        response_type: 'code',
        scope: 'openid',
        redirect_uri: redirectUri,
        code_challenge: 'x'.repeat(43),
        code_challenge_method: 'S256',
      }).toString();
      const response = await fetch(url, { redirect: 'manual' });
      assert.equal(response.status, 400, redirectUri);
      assert.equal(response.headers.get('location'), null);
      assert.match(await response.text(), /redirect_uri/);
    }
  });

  it('refuses a public client without PKCE', async () => {
    const url = new URL(`${gw.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: 'spa',
      response_type: 'code',
      scope: 'openid',
      redirect_uri: spaMeta.redirect_uris[0] ?? '',
      state: 's',
    }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 303);
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.match(location.searchParams.get('error_description') ?? '', /PKCE|code_challenge/);
  });

  it('refuses a replayed code with invalid_grant', async () => {
    const { code, start } = await freshCode();
    const body = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: appMeta.redirect_uris[0] ?? '',
      code_verifier: start.codeVerifier,
    };
    assert.equal((await tokenRequest(body)).status, 200);
    const replay = await tokenRequest(body);
    assert.equal(replay.status, 400);
    assert.equal(((await replay.json()) as { error: string }).error, 'invalid_grant');
  });

  it('lets exactly one of five parallel redemptions of one code win', async () => {
    const { code, start } = await freshCode();
    const body = {
      grant_type: 'authorization_code',
      code,
      redirect_uri: appMeta.redirect_uris[0] ?? '',
      code_verifier: start.codeVerifier,
    };
    const responses = await Promise.all(Array.from({ length: 5 }, () => tokenRequest(body)));
    const statuses = responses.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 400, 400, 400, 400]);
  });

  it('refuses a wrong PKCE verifier', async () => {
    const { code } = await freshCode();
    const response = await tokenRequest({
      grant_type: 'authorization_code',
      code,
      redirect_uri: appMeta.redirect_uris[0] ?? '',
      code_verifier: 'w'.repeat(43),
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: string }).error, 'invalid_grant');
  });

  it('refuses a missing, tampered or foreign state at /upstream/callback with 400', async () => {
    const browser = createBrowser();
    const start = await startAuthorization(app);
    const toGoogle = await browser.follow(start.url, (url) => url.href.startsWith(gw.google.issuer));
    assert.ok(toGoogle.location);
    const back = new URL(
      await signInAtFakeGoogle(toGoogle.location.href, (url, init) => browser.fetch(url, init), {
        email: 'state@example.com',
      }),
    );
    assert.equal(back.pathname, '/upstream/callback');

    const missing = new URL(back);
    missing.searchParams.delete('state');
    const tampered = new URL(back);
    tampered.searchParams.set('state', `${back.searchParams.get('state')}x`);
    for (const url of [missing, tampered]) {
      const response = await browser.fetch(url, { headers: { accept: 'application/json' } });
      assert.equal(response.status, 400, url.search);
      assert.equal(response.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.match(((await response.json()) as { detail: string }).detail, /state/);
    }
    // the genuine answer from another browser (no state cookie): login CSRF
    const foreign = await createBrowser().fetch(back, { headers: { accept: 'application/json' } });
    assert.equal(foreign.status, 400);
  });

  it('refuses a replayed upstream callback', async () => {
    const browser = createBrowser();
    const start = await startAuthorization(app);
    const toGoogle = await browser.follow(start.url, (url) => url.href.startsWith(gw.google.issuer));
    const back = await signInAtFakeGoogle(toGoogle.location?.href ?? '', (url, init) => browser.fetch(url, init), {
      email: 'replay@example.com',
    });
    const stateCookie = browser.cookies(back).find((c) => c.name === 'gw_upstream');
    assert.ok(stateCookie);
    const first = await browser.fetch(back);
    assert.equal(first.status, 303);
    browser.setCookie(back, `gw_upstream=${stateCookie.value}; Path=/upstream/callback`);
    const second = await browser.fetch(back);
    assert.equal(second.status, 400);
  });

  it('passes an upstream error response on to the app as access_denied', async () => {
    const browser = createBrowser();
    const start = await startAuthorization(app);
    const toGoogle = await browser.follow(start.url, (url) => url.href.startsWith(gw.google.issuer));
    const state = toGoogle.location?.searchParams.get('state') ?? '';
    const errorCallback = new URL(`${gw.issuer}/upstream/callback`);
    errorCallback.search = new URLSearchParams({ error: 'access_denied', state }).toString();
    const result = await browser.follow(errorCallback, (url) => url.href.startsWith(appMeta.redirect_uris[0] ?? ''));
    assert.ok(result.location, 'the browser returns to the app');
    assert.equal(result.location.searchParams.get('error'), 'access_denied');
    assert.equal(result.location.searchParams.get('state'), start.state);
  });

  it('answers a JSON 401 with WWW-Authenticate at userinfo for a bad token', async () => {
    const response = await fetch(`${gw.issuer}/me`, { headers: { authorization: 'Bearer not.a.jwt' } });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
  });

  it('answers unknown paths and bad token requests with OAuth or problem JSON, never a 500', async () => {
    const garbage = await tokenRequest({ grant_type: 'authorization_code', code: 'garbage' });
    assert.equal(garbage.status, 400);
    const unsupported = await tokenRequest({ grant_type: 'password', username: 'a', password: 'b' });
    assert.equal(unsupported.status, 400);
    const noAuth = await tokenRequest({ grant_type: 'authorization_code', code: 'x' }, false);
    assert.ok([400, 401].includes(noAuth.status));
    const jsonBody = await fetch(`${gw.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":',
    });
    assert.ok(jsonBody.status >= 400 && jsonBody.status < 500);
    const interaction = await fetch(`${gw.issuer}/interaction/nope`, { headers: { accept: 'application/json' } });
    assert.equal(interaction.status, 400);
  });
});
