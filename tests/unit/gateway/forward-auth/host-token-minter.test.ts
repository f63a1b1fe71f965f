import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { decodeProtectedHeader, exportJWK, generateKeyPair, importJWK, type JWK, jwtVerify } from 'jose';
import { createHostTokenMinter } from '../../../../gateway/forward-auth/host-token-minter.ts';
import type { AccessTokenClaims } from '../../../../gateway/keys/access-token-verifier.ts';
import type { PrivateJwk } from '../../../../gateway/keys/signing-keys.ts';

const issuer = 'https://auth.example.com';
const clientId = 'forward-auth';

async function signingKey(kid: string): Promise<{ jwk: PrivateJwk; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  return {
    jwk: { ...(await exportJWK(privateKey)), kid, alg: 'ES256', use: 'sig' },
    publicJwk: await exportJWK(publicKey),
  };
}

async function verify(token: string, publicJwk: JWK, audience: string) {
  return jwtVerify(token, await importJWK(publicJwk, 'ES256'), { issuer, audience, typ: 'at+jwt' });
}

describe('the per-host access token forward auth hands the app', () => {
  let first: Awaited<ReturnType<typeof signingKey>>;
  let second: Awaited<ReturnType<typeof signingKey>>;
  const inAnHour = Math.floor(Date.now() / 1000) + 3600;
  const source: AccessTokenClaims = {
    iss: issuer,
    sub: 'user-1',
    aud: 'some-other-api',
    client_id: 'the-app-that-signed-in',
    jti: 'source-jti',
    iat: inAnHour - 7200,
    exp: inAnHour,
    scope: 'openid email',
    email: 'ada@example.com',
    email_verified: true,
    preferred_username: 'ada',
    name: 'Ada',
    groups: ['ops'],
    session_uid: 'session-1',
    grant_id: 'grant-1',
    cnf: { jkt: 'thumbprint' },
    act: { sub: 'someone-else' },
    admin: true,
  };

  before(async () => {
    first = await signingKey('key-1');
    second = await signingKey('key-2');
  });

  it('signs an at+jwt for the host, with the identity claims copied and nothing else', async () => {
    const mint = createHostTokenMinter(issuer, () => first.jwk, clientId);
    const token = await mint(source, 'app.example.com');
    const { payload, protectedHeader } = await verify(token, first.publicJwk, 'app.example.com');
    assert.deepEqual(protectedHeader, { alg: 'ES256', kid: 'key-1', typ: 'at+jwt' });
    const { iat, jti, ...rest } = payload;
    assert.deepEqual(rest, {
      iss: issuer,
      sub: 'user-1',
      aud: 'app.example.com',
      exp: inAnHour,
      client_id: clientId,
      scope: 'openid email',
      email: 'ada@example.com',
      email_verified: true,
      preferred_username: 'ada',
      name: 'Ada',
      groups: ['ops'],
      session_uid: 'session-1',
      grant_id: 'grant-1',
    });
    assert.ok(typeof iat === 'number' && Math.abs(iat - Date.now() / 1000) < 60);
    assert.ok(typeof jti === 'string' && jti !== 'source-jti', 'a token of its own, not a copy of the source');
    await assert.rejects(verify(token, first.publicJwk, 'other.example.com'), 'for that host only');
    await assert.rejects(verify(token, second.publicJwk, 'app.example.com'), 'signed by the current key only');
  });

  it('never outlives the source token, and lives a minute when the source names no expiry', async () => {
    const mint = createHostTokenMinter(issuer, () => first.jwk, clientId);
    const soon = Math.floor(Date.now() / 1000) + 30;
    const short = await verify(
      await mint({ ...source, jti: 'short', exp: soon }, 'app.example.com'),
      first.publicJwk,
      'app.example.com',
    );
    assert.equal(short.payload.exp, soon);
    const { exp: _exp, ...noExpiry } = source;
    const now = Math.floor(Date.now() / 1000);
    const { payload } = await verify(
      await mint({ ...noExpiry, jti: 'no-exp' }, 'app.example.com'),
      first.publicJwk,
      'app.example.com',
    );
    assert.ok(payload.exp !== undefined && payload.exp >= now + 59 && payload.exp <= now + 61);
  });

  it('copies no optional claim the source lacks', async () => {
    const mint = createHostTokenMinter(issuer, () => first.jwk, clientId);
    const token = await mint({ sub: 'user-2', exp: inAnHour }, 'app.example.com');
    const { payload } = await verify(token, first.publicJwk, 'app.example.com');
    assert.deepEqual(Object.keys(payload).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'sub']);
  });

  it('signs once per source token and host, and separately for another host or token', async () => {
    const mint = createHostTokenMinter(issuer, () => first.jwk, clientId);
    const a = await mint(source, 'a.example.com');
    assert.equal(await mint(source, 'a.example.com'), a);
    const b = await mint(source, 'b.example.com');
    assert.notEqual(b, a);
    assert.equal((await verify(b, first.publicJwk, 'b.example.com')).payload.aud, 'b.example.com');
    const other = await mint({ ...source, jti: 'another-source' }, 'a.example.com');
    assert.notEqual(other, a);
    const otherUser = await mint({ ...source, jti: undefined, sub: 'user-3' }, 'a.example.com');
    const { payload } = await verify(otherUser, first.publicJwk, 'a.example.com');
    assert.equal(payload.sub, 'user-3', 'a token without jti is keyed by its subject');
    // The same jti with another expiry (a refreshed session) is another source token.
    const later = await mint({ ...source, exp: inAnHour + 60 }, 'a.example.com');
    assert.equal((await verify(later, first.publicJwk, 'a.example.com')).payload.exp, inAnHour + 60);
  });

  it('does not cache a token that has already expired', async () => {
    const mint = createHostTokenMinter(issuer, () => first.jwk, clientId);
    const expired = { ...source, jti: 'expired', exp: Math.floor(Date.now() / 1000) - 1 };
    const one = await mint(expired, 'app.example.com');
    const two = await mint(expired, 'app.example.com');
    assert.notEqual(one, two);
  });

  it('signs new tokens with the new key after a rotation', async () => {
    let current = first.jwk;
    const mint = createHostTokenMinter(issuer, () => current, clientId);
    const before = await mint({ ...source, jti: 'before-rotation' }, 'app.example.com');
    assert.equal(decodeProtectedHeader(before).kid, 'key-1');
    current = second.jwk;
    const after = await mint({ ...source, jti: 'after-rotation' }, 'app.example.com');
    assert.equal(decodeProtectedHeader(after).kid, 'key-2');
    await verify(after, second.publicJwk, 'app.example.com');
    current = first.jwk;
    const back = await mint({ ...source, jti: 'back-again' }, 'app.example.com');
    assert.equal(decodeProtectedHeader(back).kid, 'key-1');
    await verify(back, first.publicJwk, 'app.example.com');
  });
});
