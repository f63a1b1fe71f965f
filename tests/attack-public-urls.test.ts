/**
 * Attacks on the addresses the gateway hands out, without a proxy in front: a hostile `Host` or
 * forwarded header must not change discovery, an https gateway reached over plain http keeps its
 * cookies Secure and its callbacks https, forward auth's redirect URIs are the served host over the
 * issuer's scheme only, and a well-signed token with a numeric `sub` is refused, not a 500.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import Fastify from 'fastify';
import cookie from '@fastify/cookie';
import { importJWK, SignJWT } from 'jose';
import { fetch as undiciFetch } from 'undici';
import { createBrowser, loopbackDispatcher } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { confidentialClient } from './helpers/relying-party.ts';
import { forwardAuthCookies } from '../gateway/forward-auth/forward-auth-cookie.ts';
import { forwardAuthRedirectAllowed } from '../gateway/provider/forward-auth-client.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

describe('forward auth redirect URIs (forwardAuthRedirectAllowed)', () => {
  const domains = ['.a.test', '.b.test:8443'];
  const https = 'https://login.a.test';
  it("accepts only the issuer's scheme, the default port unless the domain names one, and the exact path", () => {
    assert.equal(forwardAuthRedirectAllowed('https://app.a.test/oauth2/callback', https, domains), true);
    assert.equal(forwardAuthRedirectAllowed('https://login.a.test/oauth2/callback', https, domains), true);
    assert.equal(forwardAuthRedirectAllowed('https://app.b.test:8443/oauth2/callback', https, domains), true);
    for (const uri of [
      'http://app.a.test/oauth2/callback', // http next to an https issuer
      'https://app.a.test:8443/oauth2/callback', // a port the operator did not name
      'https://app.a.test:443x/oauth2/callback',
      'https://app.b.test/oauth2/callback', // .b.test only on 8443
      'https://app.c.test/oauth2/callback', // not a configured domain
      'https://app.a.test/oauth2/callback?x=1',
      'https://app.a.test/oauth2/callback#x',
      'https://u:p@app.a.test/oauth2/callback',
      'https://app.a.test/oauth2/callback/',
      'https://app.a.test/OAuth2/callback',
      'javascript://app.a.test/oauth2/callback',
    ]) {
      assert.equal(forwardAuthRedirectAllowed(uri, https, domains), false, uri);
    }
  });
  it('allows plain http only when the issuer itself is http, and still only the ports named', () => {
    assert.equal(
      forwardAuthRedirectAllowed('http://app.a.test/oauth2/callback', 'http://127.0.0.1:4000', domains),
      true,
    );
    assert.equal(
      forwardAuthRedirectAllowed('http://app.b.test:8443/oauth2/callback', 'http://127.0.0.1:4000', domains),
      true,
    );
    assert.equal(
      forwardAuthRedirectAllowed('http://app.a.test:8080/oauth2/callback', 'http://127.0.0.1:4000', domains),
      false,
      'a port nobody named, in development too',
    );
    assert.equal(
      forwardAuthRedirectAllowed('https://app.a.test/oauth2/callback', 'http://127.0.0.1:4000', domains),
      false,
    );
  });
});

describe('the forward-auth cookie follows the issuer', () => {
  it('is Secure and __Host- prefixed when host-only on https, Secure with its domain otherwise', async () => {
    const app = Fastify();
    await app.register(cookie);
    const secure = forwardAuthCookies({
      secure: true,
      cookieDomains: ['.a.test'],
      maxAgeSeconds: 60,
      secrets: ['cookie-binding-secret-0123456789abcdef'],
    });
    app.get('/set', async (request, reply) => {
      secure.set(request, reply, { token: 't', sessionId: 's' });
      return reply.send('ok');
    });
    const hostOnly = await app.inject({ url: '/set', headers: { host: 'app.other.test' } });
    assert.match(
      String(hostOnly.headers['set-cookie']),
      /^__Host-_gateway_auth=t~s~[\w-]{22}; Max-Age=60; Path=\/; HttpOnly; Secure; SameSite=Lax$/,
    );
    const shared = await app.inject({ url: '/set', headers: { host: 'app.a.test' } });
    assert.match(String(shared.headers['set-cookie']), /^_gateway_auth=t~s~[\w-]{22}; .*Domain=a\.test; .*Secure/);
    await app.close();
  });
});

describe('an https gateway reached from outside its trusted proxies', () => {
  let gw: StartedGateway;
  const meta = confidentialClient('prefixed-app', { redirect_uris: ['https://app.a.test/cb'] });
  before(async () => {
    const port = await freePort();
    gw = await startGateway({
      port,
      clients: [meta],
      issuer: 'https://login.a.test',
      // This test's port is named, as an operator names a non-default port of theirs.
      env: {
        GATEWAY_COOKIE_DOMAINS: '.a.test',
        GATEWAY_REDIRECT_DOMAINS: `.a.test,.a.test:${port}`,
        GATEWAY_TRUSTED_PROXIES: '10.9.9.9',
      },
    });
  });
  after(async () => gw?.close());

  it('publishes discovery at its issuer only, whatever Host or X-Forwarded-* a client sends', async () => {
    for (const headers of [
      { host: 'evil.example' },
      { host: 'evil.example', 'x-forwarded-host': 'evil2.example', 'x-forwarded-proto': 'http' },
    ]) {
      const response = await gw.app.inject({ url: '/.well-known/openid-configuration', headers });
      assert.equal(response.statusCode, 200);
      const discovery = response.json() as Record<string, unknown>;
      const urls = Object.values(discovery).filter(
        (value): value is string => typeof value === 'string' && /^https?:/.test(value),
      );
      assert.ok(urls.length > 5);
      for (const url of urls)
        assert.ok(url === gw.issuer || url.startsWith(`${gw.issuer}/`), `${url} is at the issuer`);
    }
  });

  it('sets Secure cookies and an https callback although the request came over plain http', async () => {
    const dispatcher = loopbackDispatcher();
    const response = (await undiciFetch(`http://app.a.test:${new URL(gw.url).port}/oauth2/start?rd=/x`, {
      redirect: 'manual',
      dispatcher,
    })) as unknown as Response;
    await dispatcher.close();
    assert.equal(response.status, 302, await response.clone().text());
    const authorize = new URL(response.headers.get('location') ?? '');
    assert.equal(authorize.origin, 'https://login.a.test');
    // The port is the one the request named (a proxy on 443 names none); the scheme is the issuer's.
    assert.equal(
      authorize.searchParams.get('redirect_uri'),
      `https://app.a.test:${new URL(gw.url).port}/oauth2/callback`,
    );
    const tx = response.headers.getSetCookie().find((line) => line.includes('_gateway_auth_tx_')) ?? '';
    assert.match(tx, /^__Secure-_gateway_auth_tx_/);
    assert.match(tx, /; Secure/);
  });

  it("delivers forward auth's codes only to the served host over https, never to another port or http", async () => {
    const authorize = (redirectUri: string) =>
      gw.app.inject({
        url: `/auth?${new URLSearchParams({
          client_id: 'gateway-forward-auth',
          redirect_uri: redirectUri,
          response_type: 'code',
          scope: 'openid',
          code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
          code_challenge_method: 'S256',
          state: 'state-value',
        })}`,
      });
    const good = await authorize('https://app.a.test/oauth2/callback');
    assert.ok([302, 303].includes(good.statusCode), `allowed: ${good.statusCode}`);
    assert.doesNotMatch(String(good.headers.location), /oauth2\/callback/, 'to sign-in, not yet to the app');
    for (const uri of [
      'https://app.a.test:8443/oauth2/callback',
      'http://app.a.test/oauth2/callback',
      'https://evil.test/oauth2/callback',
    ]) {
      const bad = await authorize(uri);
      assert.equal(bad.statusCode, 400, uri);
      assert.equal(bad.headers.location, undefined, `${uri}: no redirect`);
    }
  });

  it('names every cookie of a sign-in __Host- or __Secure- and makes it Secure, reached over plain http', async () => {
    // The browser speaks http to the gateway's port; the gateway believes only its https issuer.
    const port = new URL(gw.url).port;
    const local = (url: string) => url.replace('https://login.a.test/', `http://login.a.test:${port}/`);
    const dispatcher = loopbackDispatcher();
    const browser = createBrowser({ dispatcher });
    const cookies: string[] = [];
    const visit = async (url: string, init?: RequestInit) => {
      const response = await browser.fetch(local(url), init);
      if (local(url) !== url || url.startsWith(`http://login.a.test:${port}/`))
        cookies.push(...response.headers.getSetCookie());
      return response;
    };
    let url = `${gw.issuer}/auth?${new URLSearchParams({
      client_id: meta.client_id,
      redirect_uri: meta.redirect_uris[0] ?? '',
      response_type: 'code',
      scope: 'openid email',
      code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
      code_challenge_method: 'S256',
      state: 'state-value',
    })}`;
    for (let hop = 0; hop < 10 && !url.startsWith(gw.google.issuer); hop += 1) {
      const response = await visit(url);
      await response.body?.cancel();
      url = new URL(response.headers.get('location') ?? '', local(url)).href.replace(
        `http://login.a.test:${port}/`,
        'https://login.a.test/',
      );
    }
    let back = await signInAtFakeGoogle(url, (u, init) => browser.fetch(u, init), { email: 'prefixed@a.test' });
    for (let hop = 0; hop < 10 && !back.startsWith(meta.redirect_uris[0] ?? '-'); hop += 1) {
      const response = await visit(back);
      await response.body?.cancel();
      back = new URL(response.headers.get('location') ?? '', local(back)).href.replace(
        `http://login.a.test:${port}/`,
        'https://login.a.test/',
      );
    }
    await dispatcher.close();
    assert.ok(
      back.startsWith(meta.redirect_uris[0] ?? '-') && new URL(back).searchParams.has('code'),
      `signed in: ${back}`,
    );
    const set = cookies.filter((line) => !/Max-Age=0|Expires=Thu, 01 Jan 1970/i.test(line));
    const names = new Set(set.map((line) => line.slice(0, line.indexOf('='))));
    for (const name of ['__Host-gw_session', '__Secure-gw_interaction', '__Secure-gw_resume', '__Secure-gw_upstream']) {
      assert.ok(names.has(name) || names.has(`${name}.sig`), `${name} among ${[...names].join(', ')}`);
    }
    for (const line of set) {
      assert.match(line, /^__(Host|Secure)-/, line);
      assert.match(line, /; secure/i, line);
      if (line.startsWith('__Host-')) {
        assert.match(line, /; path=\/(;|$)/i, line);
        assert.doesNotMatch(line, /; domain=/i, line);
      }
    }
  });

  it('refuses a well-signed token whose sub is not a string with 401, never a 500', async () => {
    const jwk = gw.app.gateway.keys.accessTokenKey();
    const key = await importJWK(jwk, jwk.alg);
    for (const sub of [123, '', true]) {
      const token = await new SignJWT({ sub: sub as string, client_id: 'x' })
        .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'at+jwt' })
        .setIssuer(gw.issuer)
        .setAudience('https://app.a.test')
        .setIssuedAt()
        .setExpirationTime('5m')
        .sign(key);
      const response = await gw.app.inject({
        url: '/oauth2/auth',
        headers: { host: 'app.a.test', authorization: `Bearer ${token}` },
      });
      assert.equal(response.statusCode, 401, `sub ${JSON.stringify(sub)}`);
    }
  });
});
