/**
 * The gateway core end to end: a downstream app (openid-client) signs a user in through the
 * gateway, which signs them in at the fake Google (a real OpenID Provider on loopback).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { claimUsername } from '../gateway/accounts/claim-username.ts';
import { createBrowser } from './helpers/browser.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';
import { confidentialClient, discoverApp, signIn, type TestApp } from './helpers/relying-party.ts';

describe('federated sign-in: discovery → code + PKCE → tokens → userinfo → refresh → revocation', () => {
  let gw: StartedGateway;
  let app1: TestApp;
  let app2: TestApp;
  const app1Meta = confidentialClient('app1');
  const app2Meta = confidentialClient('app2');

  before(async () => {
    // No refresh grace here: the old refresh token must be refused right after the rotation
    // (the grace period has its own tests in sessions.test.ts).
    gw = await startGateway({ clients: [app1Meta, app2Meta], env: { GATEWAY_REFRESH_GRACE: '0' } });
    app1 = await discoverApp(gw.issuer, app1Meta);
    app2 = await discoverApp(gw.issuer, app2Meta);
  });
  after(async () => gw?.close());

  it('publishes discovery with every OP endpoint', async () => {
    const meta = app1.config.serverMetadata();
    assert.equal(meta.issuer, gw.issuer);
    for (const key of [
      'authorization_endpoint',
      'token_endpoint',
      'userinfo_endpoint',
      'jwks_uri',
      'revocation_endpoint',
      'introspection_endpoint',
      'end_session_endpoint',
    ] as const) {
      assert.ok(typeof meta[key] === 'string' && meta[key].startsWith(gw.issuer), `${key} missing`);
    }
    assert.deepEqual(meta.code_challenge_methods_supported, ['S256']);
    assert.deepEqual(meta.response_types_supported, ['code']);
  });

  it('signs a user in and issues an RFC 9068 access JWT that verifies offline', async () => {
    const browser = createBrowser();
    const tokens = await signIn(browser, app1, gw.google.issuer, { email: 'Ada@Example.com', name: 'Ada Lovelace' });
    assert.ok(tokens.id_token, 'an ID token');
    assert.ok(tokens.refresh_token, 'a refresh token');
    const jwksUri = app1.config.serverMetadata().jwks_uri ?? '';
    const jwks = (await (await fetch(jwksUri)).json()) as { keys: [] };
    const { payload, protectedHeader } = await jwtVerify(tokens.access_token, createLocalJWKSet(jwks), {
      issuer: gw.issuer,
      audience: 'app1',
      typ: 'at+jwt',
    });
    assert.equal(protectedHeader.alg, 'ES256');
    assert.ok(typeof payload.exp === 'number' && payload.exp > Date.now() / 1000);
    assert.equal(payload['client_id'], 'app1');
    const idClaims = tokens.claims();
    assert.equal(idClaims?.sub, payload.sub, 'one subject in ID token and access token');
    assert.equal(idClaims?.['email'], 'ada@example.com');

    const info = await client.fetchUserInfo(app1.config, tokens.access_token, String(payload.sub));
    assert.equal(info.email, 'ada@example.com');
    assert.equal(info.email_verified, true);
    assert.equal(info.name, 'Ada Lovelace');
    assert.equal(info.preferred_username, 'ada');

    // Refresh rotates: the new refresh token works, the old one is refused afterwards.
    const refreshed = await client.refreshTokenGrant(app1.config, tokens.refresh_token ?? '');
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token, 'a new refresh token');
    assert.equal(decodeJwt(refreshed.access_token).sub, payload.sub);
    await assert.rejects(client.refreshTokenGrant(app1.config, tokens.refresh_token ?? ''), { error: 'invalid_grant' });

    // Revocation (RFC 7009): the revoked refresh token no longer works.
    const current = await client.refreshTokenGrant(app1.config, refreshed.refresh_token ?? '').catch(() => undefined);
    // the reuse above revoked the grant (RFC 9700 §4.14.2), so sign in again for the revocation check
    assert.equal(current, undefined);
    const again = await signIn(browser, app1, gw.google.issuer, { email: 'ada@example.com' });
    await client.tokenRevocation(app1.config, again.refresh_token ?? '', { token_type_hint: 'refresh_token' });
    await assert.rejects(client.refreshTokenGrant(app1.config, again.refresh_token ?? ''), { error: 'invalid_grant' });
  });

  it('introspects a refresh token (RFC 7662)', async () => {
    const tokens = await signIn(createBrowser(), app1, gw.google.issuer, { email: 'intro@example.com' });
    const active = await client.tokenIntrospection(app1.config, tokens.refresh_token ?? '');
    assert.equal(active.active, true);
    assert.equal(active.client_id, 'app1');
    const bogus = await client.tokenIntrospection(app1.config, 'not-a-token');
    assert.equal(bogus.active, false);
  });

  it('lets a second app sign in with no new trip to Google (SSO)', async () => {
    const browser = createBrowser();
    await signIn(browser, app1, gw.google.issuer, { email: 'sso@example.com' });
    const before = gw.google.idp.counters.authorization;
    const tokens = await signIn(browser, app2, gw.google.issuer, { email: 'never-used@example.com' });
    assert.equal(gw.google.idp.counters.authorization, before, 'no authorization request reached Google');
    assert.equal(tokens.claims()?.['email'], 'sso@example.com');
    assert.equal(decodeJwt(tokens.access_token).aud, 'app2');
  });

  it('keeps one stable sub per upstream identity and unique usernames', async () => {
    const a = await signIn(createBrowser(), app1, gw.google.issuer, {
      email: 'sam@one.example',
      name: 'Sam',
      sub: 'google-sam-1',
    });
    const b = await signIn(createBrowser(), app1, gw.google.issuer, {
      email: 'sam@two.example',
      name: 'Sam',
      sub: 'google-sam-2',
    });
    const a2 = await signIn(createBrowser(), app1, gw.google.issuer, {
      email: 'sam@one.example',
      name: 'Sam',
      sub: 'google-sam-1',
    });
    const claimsA = a.claims();
    const claimsB = b.claims();
    assert.equal(claimsA?.sub, a2.claims()?.sub, 'same upstream identity → same local sub');
    assert.notEqual(claimsA?.sub, claimsB?.sub);
    assert.equal(claimsA?.['preferred_username'], 'sam');
    assert.notEqual(claimsB?.['preferred_username'], 'sam', 'a second "sam" gets another name');
    assert.match(String(claimsB?.['preferred_username']), /^sam-[0-9a-f]{6}$/);
  });

  it('never hands out a reserved user name as it is, even to the first to ask', async () => {
    for (const [identity, base] of [
      [{ email: 'admin@gmail.example', sub: 'google-admin' }, 'admin'],
      [{ email: 'Root@one.example', sub: 'google-root' }, 'root'],
      [
        { email: 'administrator@one.example', name: 'Site Administrator', sub: 'google-administrator' },
        'administrator',
      ],
      [{ email: 'security@one.example', sub: 'google-security' }, 'security'],
    ] as const) {
      const name = String(
        (await signIn(createBrowser(), app1, gw.google.issuer, identity)).claims()?.['preferred_username'],
      );
      assert.match(name, new RegExp(`^${base}-[0-9a-f]{6}$`), `${identity.email} got ${name}`);
    }
  });
});

describe('GATEWAY_RESERVED_USERNAMES replaces the reserved list', () => {
  it('suffixes the names listed, and only those', async () => {
    const store = createMemoryStore();
    try {
      const reserved = ['ceo', 'hr'];
      assert.match(await claimUsername(store, 'sub-1', 'ceo', reserved), /^ceo-[0-9a-f]{6}$/);
      assert.equal(await claimUsername(store, 'sub-2', 'admin', reserved), 'admin', 'admin is no longer reserved');
      assert.equal(await claimUsername(store, 'sub-2', 'admin', reserved), 'admin', 'the same account keeps its name');
    } finally {
      await store.close();
    }
  });
});
