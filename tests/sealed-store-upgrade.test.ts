/**
 * Upgrading a store written before sealing: what must outlive the upgrade is sealed in place on
 * the first start and keeps working. The signing key ring (so tokens already issued still verify
 * and the JWKS does not change), client records (their secrets are permanent), and a previous
 * client secret still inside its grace period (kept then as a bare SHA-256 digest). Tokens and
 * sessions are not carried over: their keys are hashed now, so users sign in again once.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { createMemoryStore } from '../adapters/memory-store.ts';
import type { Store } from '../adapters/store.ts';
import { introspectAs } from './helpers/consent.ts';
import { startLoggedGateway, type LoggedGateway } from './helpers/logged-gateway.ts';
import { confidentialClient } from './helpers/relying-party.ts';

/** A ring key as the earlier version stored it: a private JWK with its schedule. */
async function ringKey(alg: 'ES256' | 'RS256') {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return {
    ...jwk,
    kid: await calculateJwkThumbprint(jwk),
    alg,
    use: 'sig',
    activatesAt: Date.now() - 60_000,
    createdAt: Date.now() - 60_000,
  };
}

describe('a store written before sealing', () => {
  const map = new Map<string, string>();
  let store: Store;
  let gw: LoggedGateway | undefined;
  const client = confidentialClient('legacy-app');
  const previousSecret = 'legacy-previous-secret-0123456789abcdef';
  let kids: string[];
  let privateParts: string[];

  before(async () => {
    store = createMemoryStore({ map });
    const keys = [await ringKey('ES256'), await ringKey('RS256')];
    kids = keys.map((key) => key.kid);
    privateParts = keys.map((key) => String(key.d));
    await store.set('keys:signing', { keys });
    await store.addToSet('clients:index', client.client_id, 60_000);
    await store.set(`oidc:Client:${client.client_id}`, { payload: client, expiresAt: null });
    const sha256 = createHash('sha256').update(previousSecret).digest('base64url');
    await store.set(
      `clients:previous-secrets:${client.client_id}`,
      [{ sha256, notAfter: Date.now() + 60_000 }],
      60_000,
    );
    gw = await startLoggedGateway({ store });
  });
  after(async () => {
    await gw?.close();
    await store?.close();
  });

  it('seals the signing keys in place: the same keys published, no private part in clear', async () => {
    assert.ok(gw);
    const jwks = (await (await fetch(`${gw.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> };
    assert.deepEqual(jwks.keys.map((key) => key.kid).sort(), [...kids].sort());
    const stored = map.get('keys:signing') ?? '';
    assert.ok(stored !== '' && !privateParts.some((d) => stored.includes(d)), 'the ring is sealed');
  });

  it('seals the client record in place; the client still authenticates, with its previous secret in grace too', async () => {
    assert.ok(gw);
    assert.ok(!(map.get(`oidc:Client:${client.client_id}`) ?? '').includes(client.client_secret), 'no secret in clear');
    assert.deepEqual(
      gw.logs.filter((line) => line['event'] === 'clients_sealed').map((line) => line['count']),
      [1],
    );
    assert.equal((await introspectAs(gw.issuer, client.client_id, client.client_secret)).status, 200);
    assert.equal(
      (await introspectAs(gw.issuer, client.client_id, previousSecret)).status,
      200,
      'a digest kept before the upgrade still matches',
    );
    assert.equal((await introspectAs(gw.issuer, client.client_id, 'a-wrong-secret-0123456789abcdef0123')).status, 401);
  });

  it('does the pass once per store: a restart reads no client for it', async () => {
    await gw?.close();
    gw = await startLoggedGateway({ store });
    assert.equal(
      gw.logs.some((line) => line['event'] === 'clients_sealed'),
      false,
    );
    assert.equal((await introspectAs(gw.issuer, client.client_id, client.client_secret)).status, 200);
  });
});
