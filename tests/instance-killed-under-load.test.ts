/**
 * An instance killed in the middle of a request signs nobody out.
 *
 * Two gateway instances as real processes (`node gateway/main.ts`) on one Redis of this test's
 * own, behind a real nginx balancing round-robin with `proxy_next_upstream error timeout` (a dead
 * backend is skipped), as an operator would run them. Sixteen signed-in users whose app refreshes
 * their tokens in a loop through nginx, retrying with the same refresh token a request that got a
 * 502 or a broken connection (as HTTP client libraries do), and browsers whose forward-auth
 * cookies (2 s access tokens, so they are refreshed all the time) are checked at /oauth2/auth.
 * One instance gets SIGKILL mid-load; the load goes on. Then no session may be lost: every
 * user's latest refresh token still works, every browser still gets 202; and once the killed
 * instance is started again, every user refreshes through each of the two instances.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { signInAtFakeGoogle, startFakeGoogle, type FakeGoogle } from './helpers/fake-google.ts';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.ts';
import { startNginx, type RunningNginx } from './helpers/nginx.ts';
import { startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { confidentialClient, discoverApp, signIn } from './helpers/relying-party.ts';
import { freePort, TEST_SECRET, UPSTREAM_CLIENT } from './helpers/start-gateway.ts';

const USERS = 16;
const BROWSERS = 8;
/** Refreshes before the kill ("some hundreds"), and how long the load goes on after it. */
const REFRESHES_BEFORE_KILL = 300;
const LOAD_AFTER_KILL_MS = 6_000;
/** How a client library retries: the same request again, after a short pause (and not for ever). */
const RETRY_PAUSE_MS = 50;
const MAX_RETRIES = 200;

const app = confidentialClient('crash-app');
const basic = `Basic ${Buffer.from(`${app.client_id}:${app.client_secret}`).toString('base64')}`;

interface User {
  email: string;
  refreshToken: string;
  /** Set when the gateway refused the user's refresh token: the session is gone. */
  lost?: string;
}

interface Figures {
  refreshesBeforeKill: number;
  refreshesAfterKill: number;
  retries: number;
  checks: number;
  checkRetries: number;
}

/** One refresh through `url` (RFC 6749 §6); a 502 from nginx or a broken connection is retried as is. */
async function refresh(url: string, user: User, figures?: Figures): Promise<number> {
  for (let attempt = 0; ; attempt += 1) {
    if (attempt > MAX_RETRIES) {
      user.lost = `no answer after ${MAX_RETRIES} retries`;
      return 0;
    }
    let response: Response;
    try {
      response = await fetch(`${url}/token`, {
        method: 'POST',
        headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: user.refreshToken }),
      });
    } catch {
      if (figures) figures.retries += 1;
      await sleep(RETRY_PAUSE_MS);
      continue;
    }
    const body = (await response.json().catch(() => ({}))) as {
      refresh_token?: string;
      error?: string;
      error_description?: string;
    };
    if (response.status === 502 || response.status === 503 || response.status === 504) {
      if (figures) figures.retries += 1;
      await sleep(RETRY_PAUSE_MS);
      continue;
    }
    if (response.status === 200 && body.refresh_token) user.refreshToken = body.refresh_token;
    else user.lost = `HTTP ${response.status} ${body.error ?? ''} ${body.error_description ?? ''}`.trim();
    return response.status;
  }
}

/** A browser's forward-auth check through nginx; a 502 at the instant of the kill may be retried once. */
async function check(url: string, browser: Browser, figures: Figures): Promise<number> {
  const once = () =>
    browser.fetch(`${url}/oauth2/auth`).then(
      async (response) => {
        await response.body?.cancel();
        return response.status;
      },
      () => 502,
    );
  figures.checks += 1;
  const status = await once();
  if (status !== 502) return status;
  figures.checkRetries += 1;
  return once();
}

describe('an instance killed with SIGKILL under refresh load', () => {
  let redis: RedisServer;
  let google: FakeGoogle;
  let nginx: RunningNginx;
  let env: Record<string, string>;
  const instances: GatewayProcess[] = [];
  const users: User[] = [];
  const browsers: Browser[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'gateway-crash-'));
  let issuer = '';

  before(async () => {
    // A Redis of the test's own: two processes cannot be given a key prefix, and this test must
    // not share keys with the suites running beside it.
    redis = await startRedisServer();
    // Three distinct ports (a port just released may be handed out again at once).
    const ports = new Set<number>();
    while (ports.size < 3) ports.add(await freePort());
    const [port, portA, portB] = [...ports] as [number, number, number];
    issuer = `http://127.0.0.1:${port}`;
    google = await startFakeGoogle({
      clients: [
        {
          client_id: UPSTREAM_CLIENT.id,
          client_secret: UPSTREAM_CLIENT.secret,
          redirect_uris: [`${issuer}/upstream/callback`],
        },
      ],
    });
    nginx = await startNginx(
      port,
      `
  upstream gateway_pool {
    server 127.0.0.1:${portA};
    server 127.0.0.1:${portB};
  }
  server {
    listen 127.0.0.1:${port};
    location / {
      proxy_pass http://gateway_pool;
      proxy_next_upstream error timeout;
      proxy_set_header Host              $http_host;
      proxy_set_header X-Forwarded-Host  $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For   $remote_addr;
    }
  }`,
    );
    const clientsFile = join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([app]));
    env = {
      GATEWAY_ISSUER: issuer,
      GATEWAY_STORE: redis.url,
      GATEWAY_SECRETS: TEST_SECRET,
      GATEWAY_CLIENTS_FILE: clientsFile,
      GATEWAY_ACCESS_TOKEN_TTL: '2',
      GATEWAY_LOG_LEVEL: 'warn',
      UPSTREAM_ISSUER: google.issuer,
      UPSTREAM_CLIENT_ID: UPSTREAM_CLIENT.id,
      UPSTREAM_CLIENT_SECRET: UPSTREAM_CLIENT.secret,
    };
    // One after the other, as a rolling deployment starts them.
    instances.push(await startGatewayProcess(env, portA));
    instances.push(await startGatewayProcess(env, portB));

    const testApp = await discoverApp(issuer, app);
    await Promise.all(
      Array.from({ length: USERS }, async (_, i) => {
        const email = `user${i}@example.com`;
        const tokens = await signIn(createBrowser(), testApp, google.issuer, { email });
        assert.ok(tokens.refresh_token);
        users.push({ email, refreshToken: tokens.refresh_token });
      }),
    );
    await Promise.all(
      Array.from({ length: BROWSERS }, async (_, i) => {
        const browser = createBrowser();
        const start = await browser.follow(`${issuer}/oauth2/start?rd=/`, (url) => url.href.startsWith(google.issuer));
        assert.ok(start.location, 'forward auth sends the browser to Google');
        const back = await signInAtFakeGoogle(start.location.href, (url, init) => browser.fetch(url, init), {
          email: `browser${i}@example.com`,
        });
        await browser.follow(back);
        assert.ok(
          browser.cookies(`${issuer}/`).some((c) => c.name === '_gateway_auth'),
          'the forward-auth cookie is set',
        );
        browsers.push(browser);
      }),
    );
  });

  after(async () => {
    for (const instance of instances) await instance.kill();
    await nginx?.stop();
    await google?.close();
    await redis?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loses no session: every refresh token and every forward-auth cookie still works', async () => {
    const figures: Figures = { refreshesBeforeKill: 0, refreshesAfterKill: 0, retries: 0, checks: 0, checkRetries: 0 };
    const refused: string[] = [];
    let killedAt = 0;
    let stopAt = Number.POSITIVE_INFINITY;
    const killed = instances[0];
    assert.ok(killed);

    const refreshLoop = async (user: User) => {
      while (Date.now() < stopAt && !user.lost) {
        const status = await refresh(issuer, user, figures);
        if (status !== 200) break;
        if (killedAt) figures.refreshesAfterKill += 1;
        else figures.refreshesBeforeKill += 1;
        if (!killedAt && figures.refreshesBeforeKill >= REFRESHES_BEFORE_KILL) {
          killedAt = Date.now();
          stopAt = killedAt + LOAD_AFTER_KILL_MS;
          killed.signal('SIGKILL');
        }
      }
    };
    const checkLoop = async (browser: Browser, i: number) => {
      while (Date.now() < stopAt) {
        const status = await check(issuer, browser, figures);
        if (status !== 202) refused.push(`browser${i}: HTTP ${status}`);
        await sleep(100);
      }
    };
    // A deadline of its own, should the kill never come.
    const deadline = setTimeout(() => (stopAt = Math.min(stopAt, Date.now())), 20_000);
    await Promise.all([...users.map(refreshLoop), ...browsers.map(checkLoop)]);
    clearTimeout(deadline);
    const exit = await killed.exited;

    // Every user's latest refresh token still works (through nginx: the surviving instance).
    for (const user of users.filter((u) => !u.lost)) await refresh(issuer, user);
    const lost = users.filter((u) => u.lost);
    const logs = instances.flatMap((i) => i.logs);
    const reuse = logs.filter((line) => line['audit'] === 'refresh_token.reuse_detected');
    const resumed = logs.filter((line) =>
      String(line['msg']).startsWith('a refresh cut off by a dead instance was retried'),
    );
    console.log(
      `# refreshes: ${figures.refreshesBeforeKill} before the kill, ${figures.refreshesAfterKill} in the ${LOAD_AFTER_KILL_MS} ms after it; ` +
        `${figures.retries} retried after a 502 or a broken connection, ${resumed.length} of them cut off after their token was consumed; ` +
        `lost sessions: ${lost.length} of ${USERS}; reuse reported: ${reuse.length}`,
    );
    console.log(
      `# forward auth: ${figures.checks} checks, ${figures.checkRetries} retried once after a 502, refused: ${refused.length}`,
    );

    assert.equal(exit.signal, 'SIGKILL', 'the instance was killed under load');
    assert.ok(figures.refreshesAfterKill > 0, 'the load went on after the kill');
    assert.deepEqual(
      lost.map((u) => `${u.email}: ${u.lost}`),
      [],
      'no user lost the session',
    );
    assert.deepEqual(refused, [], 'every forward-auth check got 202');
    assert.equal(reuse.length, 0, 'no retry was taken for a stolen token');
  });

  it('serves every user through both instances once the killed one is started again', async () => {
    const killed = instances[0];
    assert.ok(killed);
    instances[0] = await startGatewayProcess(env, killed.port);
    for (const user of users) {
      for (const instance of instances) {
        const status = await refresh(instance!.url, user);
        assert.equal(status, 200, `${user.email} refreshed at ${instance!.url}: ${user.lost ?? ''}`);
      }
    }
    for (const [i, browser] of browsers.entries()) {
      const response = await browser.fetch(`${issuer}/oauth2/auth`);
      assert.equal(response.status, 202, `browser${i} still signed in`);
    }
  });
});
