/**
 * A Redis Cluster failover under load, without restarting the gateway: a REAL local cluster of 3
 * masters with one replica each (tests/helpers/redis-server.ts, `cluster-node-timeout` 1 s), a
 * gateway on it, users whose apps refresh their tokens in a loop (retrying a failed request with
 * the same refresh token, as any HTTP client does) and browsers whose forward-auth cookies nginx
 * checks in a loop. One master is killed with SIGKILL; its replica takes over by itself
 * (automatic failover after the node timeout and an election), and the gateway must follow it.
 *
 * What must hold: the gateway serves again within a few seconds of the promotion, by itself;
 * every session written before the failover (and replicated, as Redis does within milliseconds)
 * still works; no answer is a 500. What the failover costs is measured and printed (`# failover:
 * …`): how long requests failed, how many, and how many sessions were lost with writes that the
 * dead master had acknowledged but not yet passed to its replica (Redis replicates
 * asynchronously: a write in the last moment before the kill can be lost, and is reported).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createRedisStore } from '../adapters/redis-store.ts';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { infoField, redisCommand, startRedisCluster, type RedisCluster } from './helpers/redis-server.ts';
import { confidentialClient, discoverApp, signIn, type TestApp } from './helpers/relying-party.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

/** Users whose apps refresh in a loop through the failover. */
const BUSY_USERS = 6;
/** Users signed in before the failover who do nothing during it. */
const QUIET_USERS = 4;
/** Browsers whose forward-auth cookie is checked in a loop. */
const BROWSERS = 3;
/** The budget for serving again once the replica has taken over. */
const RESUME_AFTER_PROMOTION_MS = 3_000;

/** One app's refresh as a raw POST: the exact status, never an exception. */
async function refresh(
  gw: StartedGateway,
  app: TestApp,
  refreshToken: string,
): Promise<{ status: number; body: Record<string, unknown> }> {
  try {
    const response = await fetch(`${gw.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${app.metadata.client_id}:${String(app.metadata.client_secret)}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }),
      signal: AbortSignal.timeout(5_000),
    });
    return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
  } catch {
    return { status: 0, body: {} };
  }
}

/** Resolves once every replica has received everything its master has written. */
async function replicated(cluster: RedisCluster): Promise<void> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const caughtUp = await Promise.all(
      cluster.nodes.map(async (master, i) => {
        const offset = infoField(await redisCommand(master.port, ['INFO', 'replication']), 'master_repl_offset');
        const replica = cluster.replicas[i];
        return (
          replica !== undefined &&
          infoField(await redisCommand(replica.port, ['INFO', 'replication']), 'slave_repl_offset') === offset
        );
      }),
    );
    if (caughtUp.every(Boolean)) return;
    if (Date.now() > deadline) assert.fail('the replicas did not catch up with their masters within 5 s');
    await sleep(20);
  }
}

/** What one loop saw: failures, the first and last of them, and whether its session ended. */
interface LoopRecord {
  ok: number;
  failed: number;
  statuses: Map<number, number>;
  firstFailureAt: number | undefined;
  lastFailureAt: number | undefined;
  lost: string | undefined;
}

function newRecord(): LoopRecord {
  return {
    ok: 0,
    failed: 0,
    statuses: new Map(),
    firstFailureAt: undefined,
    lastFailureAt: undefined,
    lost: undefined,
  };
}

function failure(record: LoopRecord, status: number): void {
  record.failed += 1;
  record.statuses.set(status, (record.statuses.get(status) ?? 0) + 1);
  record.lastFailureAt = performance.now();
  record.firstFailureAt ??= record.lastFailureAt;
}

describe('Redis Cluster failover under load: a master killed, its replica takes over', () => {
  let cluster: RedisCluster;
  let gw: StartedGateway;
  let app: TestApp;
  const meta = confidentialClient('failover-app');

  before(async () => {
    cluster = await startRedisCluster({ masters: 3, replicas: true, nodeTimeoutMs: 1_000 });
    // Access tokens of 2 s: forward-auth cookies are refreshed through the store during the test.
    gw = await startGateway({ clients: [meta], env: { GATEWAY_STORE: cluster.url, GATEWAY_ACCESS_TOKEN_TTL: '2' } });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => {
    await gw?.close();
    await cluster?.close();
  });

  it('the gateway follows the new master by itself; replicated sessions survive; the cost is measured', async (t) => {
    const signedIn = async (i: number, kind: string) => {
      const tokens = await signIn(createBrowser(), app, gw.google.issuer, { email: `${kind}-${i}@example.com` });
      assert.ok(tokens.refresh_token);
      return tokens.refresh_token;
    };
    const busy: string[] = [];
    for (let i = 0; i < BUSY_USERS; i += 1) busy.push(await signedIn(i, 'busy'));
    const quiet: string[] = [];
    for (let i = 0; i < QUIET_USERS; i += 1) quiet.push(await signedIn(i, 'quiet'));
    const browsers: Browser[] = [];
    for (let i = 0; i < BROWSERS; i += 1) {
      const browser = createBrowser();
      const start = await browser.follow(`${gw.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
      assert.ok(start.location);
      await browser.follow(
        await signInAtFakeGoogle(start.location.href, (url, init) => browser.fetch(url, init), {
          email: `browser-${i}@example.com`,
        }),
      );
      assert.ok(
        browser.cookies(`${gw.url}/`).some((c) => c.name === '_gateway_auth'),
        'forward-auth cookie set',
      );
      browsers.push(browser);
    }
    await replicated(cluster);

    let running = true;
    const refreshes = busy.map(() => newRecord());
    const checks = browsers.map(() => newRecord());
    const refreshLoop = async (i: number) => {
      const record = refreshes[i] as LoopRecord;
      let token = busy[i] as string;
      while (running && record.lost === undefined) {
        const { status, body } = await refresh(gw, app, token);
        if (status === 200) {
          record.ok += 1;
          token = String(body['refresh_token']);
          continue;
        }
        if (status === 400) {
          record.lost = String(body['error']);
          break;
        }
        failure(record, status);
        // The same token again, shortly, as an HTTP client retries a 503 or a broken connection.
        await sleep(50);
      }
      busy[i] = token;
    };
    const checkLoop = async (i: number) => {
      const record = checks[i] as LoopRecord;
      const browser = browsers[i] as Browser;
      while (running && record.lost === undefined) {
        const status = await browser.fetch(`${gw.url}/oauth2/auth`).then(
          (response) => {
            void response.body?.cancel();
            return response.status;
          },
          () => 0,
        );
        if (status === 202) record.ok += 1;
        else if (status === 401) record.lost = 'signed out';
        else {
          failure(record, status);
          await sleep(50);
        }
        await sleep(10);
      }
    };
    // Writes acknowledged by the cluster, to count those the dead master took with it (never
    // replicated): numbered keys on a connection of their own, under a prefix of their own.
    const probe = await createRedisStore(cluster.url, { prefix: 'failover-probe:' });
    const acknowledged: number[] = [];
    const probeLoop = async () => {
      for (let n = 0; running; n += 1) {
        try {
          await probe.set(String(n), n);
          acknowledged.push(n);
        } catch {
          await sleep(20);
        }
      }
    };
    const loops = [...busy.map((_, i) => refreshLoop(i)), ...browsers.map((_, i) => checkLoop(i)), probeLoop()];

    await sleep(1_000);
    const victim = cluster.nodes[0];
    const heir = cluster.replicas[0];
    assert.ok(victim && heir);
    const killedAt = performance.now();
    await victim.kill();
    let promotedAt: number | undefined;
    while (performance.now() - killedAt < 15_000) {
      if (infoField(await redisCommand(heir.port, ['INFO', 'replication']), 'role') === 'master') {
        promotedAt = performance.now();
        break;
      }
      await sleep(50);
    }
    assert.ok(promotedAt !== undefined, 'the replica took over within 15 s');
    // Load goes on after the promotion long enough to show service is back for every loop.
    await sleep(RESUME_AFTER_PROMOTION_MS + 1_000);
    running = false;
    await Promise.all(loops);

    const all = [...refreshes, ...checks];
    const lastFailure = Math.max(...all.map((r) => r.lastFailureAt ?? 0));
    const firstFailure = Math.min(...all.map((r) => r.firstFailureAt ?? Infinity));
    const statuses = new Map<number, number>();
    for (const record of all)
      for (const [status, n] of record.statuses) statuses.set(status, (statuses.get(status) ?? 0) + n);
    const missing: number[] = [];
    for (let i = 0; i < acknowledged.length; i += 200) {
      const batch = acknowledged.slice(i, i + 200);
      const values = await Promise.all(batch.map((n) => probe.get(String(n))));
      values.forEach((value, j) => {
        if (value === undefined) missing.push(batch[j] as number);
      });
    }
    await probe.close();
    const lostRefresh = refreshes.filter((r) => r.lost !== undefined).length;
    const lostCookies = checks.filter((r) => r.lost !== undefined).length;
    const summary = [
      `replica promoted ${Math.round(promotedAt - killedAt)} ms after the kill`,
      lastFailure > 0
        ? `requests failed from ${Math.round(firstFailure - killedAt)} to ${Math.round(lastFailure - killedAt)} ms after it`
        : 'no request failed',
      `${all.reduce((n, r) => n + r.failed, 0)} failed (${[...statuses].map(([s, n]) => `${n}x ${s}`).join(', ') || 'none'}) of ${all.reduce((n, r) => n + r.ok + r.failed, 0)}`,
      `${refreshes.reduce((n, r) => n + r.ok, 0)} refreshes and ${checks.reduce((n, r) => n + r.ok, 0)} forward-auth checks answered`,
      `acknowledged writes lost: ${missing.length} of ${acknowledged.length}`,
      `sessions lost: ${lostRefresh} of ${BUSY_USERS} refreshing (${
        refreshes
          .map((r) => r.lost)
          .filter(Boolean)
          .join(', ') || 'none'
      }), ${lostCookies} of ${BROWSERS} cookies`,
    ].join('; ');
    t.diagnostic(summary);
    process.stderr.write(`# failover: ${summary}\n`);

    assert.ok(!statuses.has(500), 'no 500 during the failover');
    // A forward-auth check never writes a session it already holds (its cookie is not rotated),
    // so no failover can cost a browser its sign-in. A refreshing app can lose its session only
    // through a write the dead master acknowledged and had not yet replicated: reported above,
    // not asserted, since that window is Redis's and not ours.
    assert.equal(lostCookies, 0, 'no browser signed out by the failover');
    assert.ok(
      lastFailure === 0 || lastFailure - promotedAt < RESUME_AFTER_PROMOTION_MS,
      `served again within ${RESUME_AFTER_PROMOTION_MS} ms of the promotion, without a restart`,
    );
    // After the failover, everything works at once: sessions written before it, the readiness check, a new sign-in.
    for (const token of quiet)
      assert.equal(
        (await refresh(gw, app, token)).status,
        200,
        'a session written (and replicated) before the failover still works',
      );
    for (const [i, record] of refreshes.entries()) {
      if (record.lost === undefined)
        assert.equal((await refresh(gw, app, busy[i] as string)).status, 200, 'a refreshing user carries on');
    }
    for (const browser of browsers)
      assert.equal(
        (await browser.fetch(`${gw.url}/oauth2/auth`)).status,
        202,
        'a forward-auth cookie works after the failover',
      );
    assert.equal((await fetch(`${gw.url}/readyz`)).status, 200);
    await signedIn(0, 'after');
  });
});
