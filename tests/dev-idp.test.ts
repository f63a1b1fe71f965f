/**
 * The development IdP that `npm start` mounts under /dev-idp, against a real relying party
 * (openid-client 6), as the gateway uses it: mounted under the prefix on a server of its own here.
 * Google's finer ways are the fake Google's (fake-google.test.ts), not this IdP's.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import * as oidc from 'openid-client';
import { defaultSubject } from '../gateway/dev/account-store.ts';
import { createDevIdp, type DevIdp } from '../gateway/dev/create-dev-idp.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import {
  cookieJar,
  discoverIdp,
  IDP_CLIENTS,
  REDIRECT_URI,
  signInAtIdp,
  signInPage,
} from './helpers/idp-relying-party.ts';

describe('dev IdP mounted under /dev-idp', () => {
  let server: ReturnType<typeof createServer>;
  let idp: DevIdp;
  let issuer: string;
  let config: oidc.Configuration;

  before(async () => {
    let handler: DevIdp['handler'] | undefined;
    // Like the gateway: only /dev-idp/* reaches the IdP.
    server = createServer((req, res) => {
      if (handler !== undefined && (req.url === '/dev-idp' || req.url?.startsWith('/dev-idp/'))) {
        handler(req, res);
        return;
      }
      res.statusCode = 404;
      res.end('gateway route');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    issuer = `http://127.0.0.1:${port}/dev-idp`;
    idp = createDevIdp({ issuer, clients: IDP_CLIENTS, mountPath: '/dev-idp' });
    handler = idp.handler;
    config = await discoverIdp(issuer);
  });
  after(async () => {
    await idp?.close();
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  });

  it('serves discovery under the prefix', () => {
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
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
  });

  it('signs in: code → tokens → userinfo → refresh, with the claims of openid email profile', async () => {
    const tokens = await signInAtIdp(
      config,
      { email: 'Ada@Example.com', name: 'Ada Lovelace' },
      { params: { access_type: 'offline' } },
    );
    const claims = tokens.claims();
    assert.equal(claims?.iss, issuer);
    assert.equal(claims?.sub, defaultSubject('ada@example.com'));
    assert.match(claims?.sub ?? '', /^\d{21}$/);
    assert.ok(tokens.refresh_token);
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims?.sub ?? '');
    assert.equal(userinfo.email, 'Ada@Example.com');
    assert.equal(userinfo.email_verified, true);
    assert.equal(userinfo.name, 'Ada Lovelace');
    assert.equal(userinfo.given_name, 'Ada');
    assert.equal(userinfo.family_name, 'Lovelace');
    const refreshed = await oidc.refreshTokenGrant(config, tokens.refresh_token);
    assert.ok(refreshed.access_token);
    // Never rotated: the one the gateway keeps goes on working.
    assert.ok((await oidc.refreshTokenGrant(config, tokens.refresh_token)).access_token);
  });

  it('gives a refresh token with every sign-in, not only the first', async () => {
    const jar = cookieJar();
    const params = { access_type: 'offline' };
    assert.ok((await signInAtIdp(config, { email: 'again@example.com' }, { jar, params })).refresh_token);
    assert.ok((await signInAtIdp(config, { email: 'again@example.com' }, { params })).refresh_token);
  });

  it('takes only what a person types: a test-only sub, email_verified or hd is ignored', async () => {
    const tokens = await signInAtIdp(config, {
      email: 'grace@corp.example',
      sub: '109876543210987654321',
      email_verified: false,
      hd: 'corp.example',
    });
    const claims = tokens.claims();
    assert.equal(claims?.sub, defaultSubject('grace@corp.example'));
    const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims?.sub ?? '');
    assert.equal(userinfo.email_verified, true);
    assert.equal(userinfo['hd'], undefined);
    assert.equal(userinfo.name, 'grace', 'display name defaults to the local part');
  });

  it("serves a labelled sign-in page in the gateway's page kit", async () => {
    const { response, html } = await signInPage(config, { login_hint: 'hint@example.com', hd: 'corp.example' });
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.match(html, /<p class="tag">Development IdP<\/p>/);
    assert.match(html, /<label for="email">/);
    assert.match(html, /<label for="name">/);
    assert.match(html, /name="viewport"/);
    assert.match(html, /value="hint@example.com"/);
    assert.match(html, /an account of <strong>corp\.example<\/strong>/);
    // Nothing runs, and nothing loads but the gateway's own stylesheet (served on this origin).
    assert.doesNotMatch(html, /<script|src=/i);
    assert.deepEqual(
      [...html.matchAll(/href="([^"]*)"/g)].map((m) => m[1]),
      ['/assets/gateway.css'],
    );
  });

  it('ends the sign-in with access_denied when the person cancels', async () => {
    const jar = cookieJar();
    const authUrl = oidc.buildAuthorizationUrl(config, {
      redirect_uri: REDIRECT_URI,
      scope: 'openid',
      code_challenge: await oidc.calculatePKCECodeChallenge(oidc.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    });
    const redirect = await jar(authUrl.href, { redirect: 'manual' });
    const pageUrl = new URL(redirect.headers.get('location') ?? '', authUrl);
    const html = await (await jar(pageUrl.href, { redirect: 'manual' })).text();
    const abort = /<form method="post" action="([^"]*\/abort)">(<input type="hidden" name="csrf" value="[^"]*">)/.exec(
      html,
    );
    assert.ok(abort, 'a Cancel form, with its CSRF token');
    const csrf = /value="([^"]*)"/.exec(abort[2] ?? '')?.[1] ?? '';
    const answer = await jar(new URL(abort[1] ?? '', pageUrl).href, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }).toString(),
    });
    const location = await signInAtFakeGoogle(new URL(answer.headers.get('location') ?? '', pageUrl).href, jar, {
      email: 'unused@example.com',
    });
    assert.equal(new URL(location).searchParams.get('error'), 'access_denied');
  });

  it('refuses a request without PKCE', async () => {
    const authUrl = oidc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT_URI, scope: 'openid', state: 'x' });
    const response = await fetch(authUrl, { redirect: 'manual' });
    const location = new URL(response.headers.get('location') ?? '');
    assert.equal(location.searchParams.get('error'), 'invalid_request');
  });

  it('refuses a mountPath that is not the issuer path', () => {
    assert.throws(
      () => createDevIdp({ issuer: 'http://localhost:4000/dev-idp', clients: IDP_CLIENTS, mountPath: '/other' }),
      TypeError,
    );
  });
});
