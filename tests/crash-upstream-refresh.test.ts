/**
 * An instance killed while it refreshes a user's Google tokens must not leave that user stuck.
 *
 * The refresh runs under a per-user lock in the store (upstream-tokens.ts). Here a real gateway
 * process takes that lock and waits on Google's token endpoint (the fake Google holds the
 * request), and is killed with SIGKILL: no `finally` runs, nothing releases the lock. Another
 * instance then needs the same user's tokens refreshed: it must get the lock once the dead
 * holder's lease has run out (3 s, with-lock.ts), not after a long timeout, and the app's refresh
 * must succeed. A lock that lived as long as the longest refresh (15 s, as it once did) would
 * keep every instance waiting until its own wait gave up: a 503 for the user.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { LOCK_LEASE_MS } from '../adapters/with-lock.ts';
import { vaultNamespace } from '../gateway/upstream/upstream-tokens.ts';
import { createBrowser } from './helpers/browser.ts';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.ts';
import { redisCommand, startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { confidentialClient, discoverApp, signIn, type TestApp } from './helpers/relying-party.ts';
import { startGateway, TEST_SECRET, UPSTREAM_CLIENT, type StartedGateway } from './helpers/start-gateway.ts';

/** An app's refresh as a raw POST at one instance. */
async function refreshAt(url: string, app: TestApp, refreshToken: string): Promise<Response> {
  return fetch(`${url}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${app.metadata.client_id}:${String(app.metadata.client_secret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
  });
}

describe("upstream token refresh: the lock's holder killed mid-refresh", () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-crash-refresh-'));
  const meta = confidentialClient('crash-refresh-app');
  let redis: RedisServer;
  let survivor: StartedGateway;
  let doomed: GatewayProcess | undefined;
  let app: TestApp;
  let env: Record<string, string>;

  before(async () => {
    redis = await startRedisServer();
    const clientsFile = join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([meta]));
    // Every app refresh re-checks the user at the upstream, so it is the refresh that needs Google.
    env = { GATEWAY_STORE: redis.url, GATEWAY_CLIENTS_FILE: clientsFile, GATEWAY_UPSTREAM_RECHECK_INTERVAL: '0' };
    survivor = await startGateway({ env });
    app = await discoverApp(survivor.issuer, meta);
  });
  after(async () => {
    await doomed?.kill();
    await survivor?.close();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('the next refresh of that user proceeds within one lease of the kill', async (t) => {
    const google = survivor.google;
    // Two grants of one user (two devices): one refresh is cut short by the kill, the other follows.
    const first = await signIn(createBrowser(), app, google.issuer, { email: 'crash@example.com' });
    const second = await signIn(createBrowser(), app, google.issuer, { email: 'crash@example.com' });
    const sub = first.claims()?.sub;
    assert.ok(sub && first.refresh_token && second.refresh_token);

    // The instance that dies: the same settings and issuer, as behind one load balancer.
    doomed = await startGatewayProcess({
      ...env,
      GATEWAY_ISSUER: survivor.issuer,
      GATEWAY_SECRETS: TEST_SECRET,
      UPSTREAM_ISSUER: google.issuer,
      UPSTREAM_CLIENT_ID: UPSTREAM_CLIENT.id,
      UPSTREAM_CLIENT_SECRET: UPSTREAM_CLIENT.secret,
    });
    // Google refuses the access token at userinfo, so the re-check refreshes it, and Google never
    // answers that refresh: the doomed instance holds the user's lock, waiting.
    google.refuseUserinfo = 1;
    google.holdTokenRequests = 1;
    const cut = refreshAt(doomed.url, app, first.refresh_token).catch(() => undefined);
    // Per upstream (its issuer and client) and user.
    const lockKey = `gateway:lock:upstream-refresh:${vaultNamespace(google.issuer, UPSTREAM_CLIENT.id)}:${sub}`;
    while (google.heldTokenRequests === 0) await sleep(20);
    assert.equal(
      await redisCommand(redis.port, ['EXISTS', lockKey]),
      '1',
      "the doomed instance holds the user's refresh lock",
    );
    // A live holder renews its lease: after more than one lease, the lock is still its.
    await sleep(LOCK_LEASE_MS + 500);
    assert.equal(await redisCommand(redis.port, ['EXISTS', lockKey]), '1', 'a live holder keeps its lease');

    await doomed.kill();
    const killedAt = performance.now();
    await cut;
    const refreshesBefore = google.idp.counters.refresh;
    google.refuseUserinfo = 1;
    const response = await refreshAt(survivor.url, app, second.refresh_token);
    const ms = Math.round(performance.now() - killedAt);
    assert.equal(response.status, 200, `the other instance refreshed the user: ${await response.clone().text()}`);
    const body = (await response.json()) as { access_token?: string };
    assert.ok(body.access_token);
    assert.equal(google.idp.counters.refresh, refreshesBefore + 1, 'one refresh at Google, by the survivor');
    t.diagnostic(
      `the user's next refresh succeeded ${ms} ms after the lock's holder was killed (lease ${LOCK_LEASE_MS} ms)`,
    );
    process.stderr.write(`# crash mid upstream refresh: next refresh ${ms} ms after the kill\n`);
    assert.ok(ms < LOCK_LEASE_MS + 2_000, `within one lease and some work, not a long timeout (${ms} ms)`);
    assert.equal(await redisCommand(redis.port, ['EXISTS', lockKey]), '0', 'and the lock is free again');
  });
});
