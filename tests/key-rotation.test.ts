/**
 * Signing key rotation across two instances on one store: a rotation publishes the next keys
 * before they sign, concurrent rotations add one pair, and tokens signed before a rotation keep
 * verifying after it, on every instance.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { buildGateway } from '../gateway/build-gateway.ts';
import { rotateKeys } from '../gateway/keys/signing-keys.ts';
import { loadStoreSealing } from '../gateway/keys/store-sealing.ts';
import { createBrowser } from './helpers/browser.ts';
import { confidentialClient, discoverApp, signIn } from './helpers/relying-party.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

describe('signing key rotation on two instances', () => {
  const store = createMemoryStore();
  const meta = confidentialClient('rotation-app');
  let a: StartedGateway;
  let b: FastifyInstance;
  let bUrl: string;

  before(async () => {
    a = await startGateway({ store, clients: [meta], env: { GATEWAY_KEY_ROLL_IN: '1', GATEWAY_REFRESH_GRACE: '0' }, keyRefreshMs: 100 });
    b = await buildGateway(a.app.gateway.config, { store, clients: [meta], keyRefreshMs: 100, logger: false });
    const port = await freePort();
    await b.listen({ host: '127.0.0.1', port });
    bUrl = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await store.close();
  });

  const jwksOf = async (url: string) => (await (await fetch(`${url}/jwks`)).json()) as { keys: Array<{ kid: string; alg: string }> };
  const refreshAt = async (url: string, refreshToken: string) => {
    const response = await fetch(`${url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${meta.client_id}:${meta.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
    });
    assert.equal(response.status, 200);
    return (await response.json()) as { access_token: string; refresh_token: string; id_token: string };
  };
  const until = async (condition: () => Promise<boolean>, what: string) => {
    for (let i = 0; i < 60; i += 1) {
      if (await condition()) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.fail(`timed out waiting for: ${what}`);
  };

  it('publishes before signing, adds one pair for concurrent rotations, keeps old tokens verifying', async () => {
    const app = await discoverApp(a.issuer, meta);
    const before = await signIn(createBrowser(), app, a.google.issuer, { email: 'keys@example.com' });
    const oldKid = decodeProtectedHeader(before.access_token).kid;

    const options = { rollInMs: 1000, retentionMs: 3_660_000 };
    // The ring is sealed: rotate with the sealing the gateways use (their GATEWAY_SECRETS).
    const { sealing } = await loadStoreSealing(store, a.app.gateway.config.secrets);
    const results = await Promise.all([rotateKeys(store, sealing, options), rotateKeys(store, sealing, options)]);
    assert.deepEqual(results.map((r) => r.rotated).sort(), [false, true], 'two rotations at once add one pair');
    const newKids = results.find((r) => r.rotated)?.kids ?? [];
    assert.equal(newKids.length, 2);

    // published on both instances within their next reload, not yet signing
    for (const url of [a.issuer, bUrl]) {
      await until(async () => {
        const published = (await jwksOf(url)).keys.map((k) => k.kid);
        return newKids.every((kid) => published.includes(kid));
      }, `new keys published at ${url}`);
    }
    let tokens = await refreshAt(bUrl, before.refresh_token ?? '');
    assert.equal(decodeProtectedHeader(tokens.access_token).kid, oldKid, 'the old key still signs during the roll-in');

    // after the roll-in, both instances sign with the new key
    await new Promise((resolve) => setTimeout(resolve, 1200));
    await until(async () => {
      tokens = await refreshAt(a.issuer, tokens.refresh_token);
      return newKids.includes(String(decodeProtectedHeader(tokens.access_token).kid));
    }, 'instance A signs with the new key');
    tokens = await refreshAt(bUrl, tokens.refresh_token);
    assert.ok(newKids.includes(String(decodeProtectedHeader(tokens.access_token).kid)), 'instance B signs with the new key');
    assert.ok(newKids.includes(String(decodeProtectedHeader(tokens.id_token).kid)), 'ID tokens too (RS256)');

    // the token signed before the rotation still verifies against either instance's JWKS
    for (const url of [a.issuer, bUrl]) {
      const { payload } = await jwtVerify(before.access_token, createLocalJWKSet(await jwksOf(url)), { issuer: a.issuer, typ: 'at+jwt' });
      assert.equal(payload.client_id, meta.client_id);
      const { payload: fresh } = await jwtVerify(tokens.access_token, createLocalJWKSet(await jwksOf(url)), { issuer: a.issuer, typ: 'at+jwt' });
      assert.equal(fresh.sub, payload.sub);
    }
    // and the gateway's own offline checks accept both (userinfo verifies the JWT locally)
    for (const token of [before.access_token, tokens.access_token]) {
      const info = await fetch(`${bUrl}/me`, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(info.status, 200);
    }
  });
});

describe('npx gateway keys', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-keys-'));
  const env = { ...process.env, GATEWAY_STORE: `sqlite://${join(dir, 'g.sqlite')}`, GATEWAY_KEY_ROLL_IN: '600' };
  const run = (...args: string[]) => spawnSync(process.execPath, ['bin/gateway.ts', 'keys', ...args], { env, encoding: 'utf8' });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('lists the keys and rotates once, as JSON for scripts', () => {
    const first = JSON.parse(run('list', '--json').stdout) as Array<{ status: string; alg: string }>;
    assert.deepEqual(first.map((k) => `${k.alg}:${k.status}`).sort(), ['ES256:current', 'RS256:current']);
    const rotated = JSON.parse(run('rotate', '--json').stdout) as { rotated: boolean; kids: string[] };
    assert.equal(rotated.rotated, true);
    const again = JSON.parse(run('rotate', '--json').stdout) as { rotated: boolean };
    assert.equal(again.rotated, false, 'a pending rotation is not doubled');
    const after = JSON.parse(run('list', '--json').stdout) as Array<{ status: string; kid: string }>;
    assert.deepEqual(after.filter((k) => k.status === 'next').map((k) => k.kid).sort(), [...rotated.kids].sort());
    const bad = run('spin');
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown keys command/);
    assert.equal(bad.stderr.trim().split('\n').length, 1, 'one line');
  });
});
