/**
 * Redis restarts without persistence under a running gateway: its data is gone, the data key
 * and signing keys included. What it must cost: what no instance holds in memory (sessions, so
 * users sign in again; accounts, so they come back under a new `sub`), and no more.
 *
 * Without care it cost much more (measured): the running gateway made new signing keys at its next
 * reload (stranding every token signed before), and a gateway started afterwards made a new data
 * key, could not open those signing keys, and refused to start. Here the running gateway notices
 * its signing keys gone, puts back the data key and the keys it holds and the clients file's
 * clients, and says so at error level; a second instance then starts on the same keys.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { createBrowser } from './helpers/browser.ts';
import { redisCommand, startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { confidentialClient, discoverApp, signIn, type TestApp } from './helpers/relying-party.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

describe('a Redis restart without persistence under a running gateway', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-redis-restart-'));
  const meta = confidentialClient('restart-app');
  let redis: RedisServer;
  let a: StartedGateway;
  let b: StartedGateway | undefined;
  let app: TestApp;
  let env: Record<string, string>;
  const logs: Array<Record<string, unknown>> = [];

  before(async () => {
    redis = await startRedisServer();
    const clientsFile = join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([meta]));
    env = { GATEWAY_STORE: redis.url, GATEWAY_CLIENTS_FILE: clientsFile };
    a = await startGateway({
      env,
      keyRefreshMs: 200,
      logger: {
        level: 'info',
        stream: { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) },
      },
    });
    app = await discoverApp(a.issuer, meta);
  });
  after(async () => {
    await b?.close();
    await a?.close();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const jwksAt = async (url: string) => (await (await fetch(`${url}/jwks`)).json()) as { keys: Array<{ kid: string }> };
  const refreshAt = (url: string, refreshToken: string | undefined) =>
    fetch(`${url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${meta.client_id}:${meta.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken ?? '' }),
    });

  it('costs what no instance holds (sessions, accounts); same keys, clients file reloaded, a new instance starts', async () => {
    const before = await signIn(createBrowser(), app, a.google.issuer, { email: 'restart@example.com' });
    const kids = (await jwksAt(a.url)).keys.map((k) => k.kid).sort();

    await redis.stop();
    await redis.start();
    assert.equal(await redisCommand(redis.port, ['DBSIZE']), '0', 'Redis came back empty');

    // Within a few reloads (every 200 ms here, 10 s by default), the running gateway puts back what it holds.
    const deadline = Date.now() + 5_000;
    while (!logs.some((line) => line['event'] === 'store_emptied')) {
      assert.ok(Date.now() < deadline, 'the gateway noticed within 5 s');
      await sleep(50);
    }
    const report = logs.find((line) => line['event'] === 'store_emptied');
    assert.equal(report?.['level'], 50, 'at error level');
    assert.equal(report?.['data_key'], 'restored');
    assert.match(String(report?.['msg']), /every session, refresh token and account is gone/);
    while (!logs.some((line) => line['event'] === 'signing_keys_restored')) {
      assert.ok(Date.now() < deadline, 'the signing keys were put back');
      await sleep(50);
    }

    // The same keys: a token signed before the restart still verifies, and a new instance starts on them.
    assert.deepEqual((await jwksAt(a.url)).keys.map((k) => k.kid).sort(), kids);
    await jwtVerify(before.access_token, createLocalJWKSet(await jwksAt(a.url)), { issuer: a.issuer });
    b = await startGateway({ env, issuer: a.issuer, fakeGoogle: a.google });
    assert.deepEqual(
      (await jwksAt(b.url)).keys.map((k) => k.kid).sort(),
      kids,
      'the new instance opened the same data key and keys',
    );

    // The session is gone: its refresh token is refused (RFC 6749 §5.2 invalid_grant), not a 500.
    const refused = await refreshAt(a.url, before.refresh_token);
    assert.equal(refused.status, 400);
    assert.equal(((await refused.json()) as { error: string }).error, 'invalid_grant');

    // Signing in again works (the clients file's app is back), and what one instance seals the other reads.
    const again = await signIn(createBrowser(), app, a.google.issuer, { email: 'restart@example.com' });
    assert.ok(kids.includes(String(decodeProtectedHeader(again.access_token).kid)));
    assert.notEqual(again.claims()?.sub, before.claims()?.sub, 'the account was lost with the store: a new local sub');
    const atB = await refreshAt(b.url, again.refresh_token);
    assert.equal(atB.status, 200, 'the refresh token issued by one instance works at the other');
  });
});
