/**
 * OAuth 2.0 Security Best Current Practice (RFC 9700) checks that no other suite makes, against a
 * real gateway and the fake Google: mix-up defence (RFC 9207), no implicit grant, codes and
 * refresh tokens bound to their client, no 307 redirects, forwarded headers believed from
 * trusted proxies only, audience-restricted tokens at forward auth, and the upstream's ID token
 * nonce and code checked (code injection). docs/SECURITY.md maps every requirement to its test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  signIn,
  startAuthorization,
  type TestApp,
} from './helpers/relying-party.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

describe('RFC 9700 checks', () => {
  let gw: StartedGateway;
  const meta1 = confidentialClient('bcp-app1', {
    redirect_uris: ['http://127.0.0.1:9/bcp-app1/callback', 'http://127.0.0.1:9/bcp-app1/other'],
  });
  const meta2 = confidentialClient('bcp-app2');
  let app1: TestApp;
  let app2: TestApp;

  before(async () => {
    gw = await startGateway({ clients: [meta1, meta2] });
    app1 = await discoverApp(gw.issuer, meta1);
    app2 = await discoverApp(gw.issuer, meta2);
  });
  after(async () => gw?.close());

  /** A sign-in of app1 up to its callback (code not yet redeemed). */
  async function codeFor(browser: Browser, email: string) {
    const start = await startAuthorization(app1);
    const { callback } = await authorizeInBrowser(browser, app1, start, gw.google.issuer, { email });
    assert.ok(callback, 'a callback with a code');
    return { start, callback };
  }

  it('sends iss in every authorization response and says so in discovery (RFC 9207, §4.4 mix-up)', async () => {
    assert.equal(app1.config.serverMetadata().authorization_response_iss_parameter_supported, true);
    const { callback } = await codeFor(createBrowser(), 'mixup@example.com');
    assert.equal(callback.searchParams.get('iss'), gw.issuer);
  });

  it('offers no implicit grant: response_type=token is refused (§2.1.2)', async () => {
    assert.deepEqual(app1.config.serverMetadata().response_types_supported, ['code']);
    const url = new URL(`${gw.issuer}/auth`);
    url.search = new URLSearchParams({
      client_id: meta1.client_id,
      response_type: 'token',
      scope: 'openid',
      redirect_uri: meta1.redirect_uris[0] ?? '',
      state: 's',
    }).toString();
    const response = await fetch(url, { redirect: 'manual' });
    const location = response.headers.get('location') ?? '';
    assert.ok(!/access_token=/.test(location), 'no token in any redirect');
    assert.match(location || (await response.text()), /unsupported_response_type/);
  });

  it('binds a code to its client and its redirect_uri (RFC 6749 §4.1.3, §4.5 code injection)', async () => {
    const { start, callback } = await codeFor(createBrowser(), 'bound@example.com');
    const code = callback.searchParams.get('code') ?? '';
    const asApp2 = await fetch(`${gw.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${meta2.client_id}:${meta2.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: meta1.redirect_uris[0] ?? '',
        code_verifier: start.codeVerifier,
      }),
    });
    assert.equal(asApp2.status, 400);
    assert.equal(((await asApp2.json()) as { error: string }).error, 'invalid_grant');
    const otherUri = await fetch(`${gw.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${meta1.client_id}:${meta1.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: meta1.redirect_uris[1] ?? '',
        code_verifier: start.codeVerifier,
      }),
    });
    assert.equal(otherUri.status, 400);
    assert.equal(((await otherUri.json()) as { error: string }).error, 'invalid_grant');
  });

  it('refuses a code_verifier for a code issued without a challenge (PKCE downgrade, §4.8.2)', async () => {
    const start = await startAuthorization(app1);
    start.url.searchParams.delete('code_challenge');
    start.url.searchParams.delete('code_challenge_method');
    const { callback } = await authorizeInBrowser(createBrowser(), app1, start, gw.google.issuer, {
      email: 'downgrade@example.com',
    });
    const code = callback?.searchParams.get('code') ?? '';
    assert.ok(code, 'a confidential client may go without PKCE');
    const response = await fetch(`${gw.issuer}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${meta1.client_id}:${meta1.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: meta1.redirect_uris[0] ?? '',
        code_verifier: start.codeVerifier,
      }),
    });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { error: string }).error, 'invalid_grant');
  });

  it('binds a refresh token to its client (§4.14)', async () => {
    const tokens = await signIn(createBrowser(), app1, gw.google.issuer, { email: 'refresh-bound@example.com' });
    await assert.rejects(client.refreshTokenGrant(app2.config, tokens.refresh_token ?? ''), { error: 'invalid_grant' });
    // Still good for its own client.
    assert.ok((await client.refreshTokenGrant(app1.config, tokens.refresh_token ?? '')).access_token);
  });

  it("allows CORS at the token endpoint for a client's own origin, never at the authorization endpoint (§2.6)", async () => {
    const origin = 'http://127.0.0.1:9';
    const preflight = await fetch(`${gw.issuer}/token`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST' },
    });
    assert.equal(
      preflight.headers.get('access-control-allow-origin'),
      origin,
      'the origin of a registered redirect URI',
    );
    const tokenFromElsewhere = await fetch(`${gw.issuer}/token`, {
      method: 'POST',
      headers: { origin: 'https://evil.example', 'content-type': 'application/x-www-form-urlencoded' },
      body: `grant_type=refresh_token&refresh_token=x&client_id=${meta1.client_id}`,
    });
    assert.equal(tokenFromElsewhere.headers.get('access-control-allow-origin'), null);
    await tokenFromElsewhere.body?.cancel();
    const authorization = await fetch(
      `${gw.issuer}/auth?client_id=${meta1.client_id}&response_type=code&scope=openid`,
      { headers: { origin }, redirect: 'manual' },
    );
    assert.equal(authorization.headers.get('access-control-allow-origin'), null);
    await authorization.body?.cancel();
    const authorizationPreflight = await fetch(`${gw.issuer}/auth`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'GET' },
    });
    assert.equal(authorizationPreflight.headers.get('access-control-allow-origin'), null);
    await authorizationPreflight.body?.cancel();
  });

  it('never answers with a 307 or 308, which would repost credentials (§4.12)', async () => {
    const browser = createBrowser();
    const statuses: number[] = [];
    const recording = async (url: string | URL, init?: RequestInit) => {
      const response = await browser.fetch(url, init);
      statuses.push(response.status);
      return response;
    };
    const walk = async (from: URL, stop: (url: URL) => boolean): Promise<URL> => {
      let url = from;
      for (let i = 0; i < 20; i += 1) {
        const response = await recording(url);
        const location = response.headers.get('location');
        await response.body?.cancel();
        assert.ok(location, `a redirect at ${url.pathname}`);
        const next = new URL(location, url);
        if (stop(next)) return next;
        url = next;
      }
      throw new Error('too many redirects');
    };
    const start = await startAuthorization(app1);
    const atGoogle = await walk(start.url, (url) => url.href.startsWith(gw.google.issuer));
    const back = await signInAtFakeGoogle(atGoogle.href, (url, init) => recording(url, init), {
      email: 'no307@example.com',
    });
    const callback = await walk(new URL(back), (url) => url.href.startsWith(meta1.redirect_uris[0] ?? ''));
    assert.ok(callback.searchParams.get('code'));
    const redirects = statuses.filter((status) => status >= 300 && status < 400);
    assert.ok(redirects.length >= 4, redirects.join(','));
    assert.ok(!redirects.includes(307) && !redirects.includes(308), `redirect statuses: ${redirects.join(',')}`);
  });

  it("accepts at forward auth only tokens made for that host: an app's access token is refused (§4.10 audience restriction)", async () => {
    const tokens = await signIn(createBrowser(), app1, gw.google.issuer, { email: 'audience@example.com' });
    const response = await fetch(`${gw.url}/oauth2/auth`, {
      headers: { authorization: `Bearer ${tokens.access_token}` },
    });
    assert.equal(response.status, 401);
  });

  it('refuses an upstream ID token whose nonce is not the one the gateway sent (OIDC Core §3.1.3.7)', async () => {
    const browser = createBrowser();
    const start = await startAuthorization(app1);
    const toGoogle = await browser.follow(start.url, (url) => url.href.startsWith(gw.google.issuer));
    // An attacker swaps the nonce; PKCE and state stay the gateway's, so only the nonce check can catch it.
    const tampered = new URL(toGoogle.location?.href ?? '');
    tampered.searchParams.set('nonce', 'attacker-chosen-nonce');
    const back = await signInAtFakeGoogle(tampered.href, (url, init) => browser.fetch(url, init), {
      email: 'nonce@example.com',
    });
    const answer = await browser.fetch(back, { headers: { accept: 'application/json' } });
    assert.equal(answer.status, 502);
    assert.match(await answer.text(), /could not be verified/);
  });

  it("refuses a code from another browser's sign-in at the upstream callback (§4.5 code injection)", async () => {
    // The attacker signs in at Google himself and keeps his callback's code.
    const attacker = createBrowser();
    const attackerStart = await startAuthorization(app1);
    const attackerToGoogle = await attacker.follow(attackerStart.url, (url) => url.href.startsWith(gw.google.issuer));
    const attackerBack = new URL(
      await signInAtFakeGoogle(attackerToGoogle.location?.href ?? '', (url, init) => attacker.fetch(url, init), {
        email: 'attacker@example.com',
      }),
    );
    // The victim's browser is at Google with its own state; the attacker's code is injected into its callback.
    const victim = createBrowser();
    const victimStart = await startAuthorization(app1);
    const victimToGoogle = await victim.follow(victimStart.url, (url) => url.href.startsWith(gw.google.issuer));
    const victimState = new URL(victimToGoogle.location?.href ?? '').searchParams.get('state') ?? '';
    const injected = new URL(attackerBack);
    injected.searchParams.set('state', victimState);
    const answer = await victim.fetch(injected, { headers: { accept: 'application/json' } });
    assert.equal(answer.status, 502, "the code was bound to the attacker's PKCE verifier");
    const body = await answer.text();
    assert.doesNotMatch(body, /attacker@example.com/);
  });
});

describe('forwarded headers from an untrusted peer (RFC 9700 §4.13)', () => {
  let gw: StartedGateway;
  before(async () => {
    gw = await startGateway({ env: { GATEWAY_TRUSTED_PROXIES: '192.0.2.1' } });
  });
  after(async () => gw?.close());

  it('ignores X-Forwarded-Host and X-Forwarded-Proto from anyone but a trusted proxy', async () => {
    const headers = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' };
    const discovery = await fetch(`${gw.url}/.well-known/openid-configuration`, { headers });
    const metadata = (await discovery.json()) as { authorization_endpoint: string; issuer: string };
    assert.equal(metadata.issuer, gw.issuer);
    assert.ok(metadata.authorization_endpoint.startsWith(gw.issuer), metadata.authorization_endpoint);
    assert.equal(discovery.headers.get('strict-transport-security'), null, 'not taken for https');
    const start = await fetch(`${gw.url}/oauth2/start?rd=/`, { headers, redirect: 'manual' });
    assert.equal(start.status, 302);
    assert.doesNotMatch(start.headers.get('location') ?? '', /evil\.example/);
    assert.doesNotMatch(
      start.headers.get('set-cookie') ?? '',
      /;\s*secure/i,
      'no Secure cookie on a plain http request',
    );
  });
});
