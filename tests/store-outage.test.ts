/**
 * The store going away while the gateway runs, and coming back.
 *
 * Redis: the test starts its OWN redis-server (free port, temp directory, `appendonly yes`), runs
 * a gateway on it, signs a user in, then stops Redis. Within a second `/readyz` says 503, the
 * token endpoint answers 503 `temporarily_unavailable`, and the sign-in pages show a temporary
 * error page (503), with no hang, no 500 and no crash. Redis is started again on the same data:
 * the gateway serves again by itself within 5 s, and the refresh token issued before the outage
 * still works. Timings go to stderr (`# outage: …`).
 *
 * SQLite (the embedded default): a gateway on a file signs a user in and is closed; a new gateway
 * on the same file (same issuer, as after a restart) accepts the refresh token.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { signInAtFakeGoogle, startFakeGoogle, type FakeGoogle } from './helpers/fake-google.ts';
import { startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { confidentialClient, discoverApp, signIn, startAuthorization, type TestApp } from './helpers/relying-party.ts';
import { freePort, startGateway, UPSTREAM_CLIENT, type StartedGateway } from './helpers/start-gateway.ts';

/** The budget the issue sets for noticing an outage. */
const NOTICE_MS = 1_000;
/** The budget for resuming after the store is back. */
const RESUME_MS = 5_000;

/** Runs `call` and returns its result with how long it took. */
async function timed<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await call();
  return { value, ms: Math.round(performance.now() - started) };
}

/** A refresh_token grant as a raw POST, to see the exact status and body. */
function refreshRaw(gw: StartedGateway, app: TestApp, refreshToken: string): Promise<Response> {
  const secret = String(app.metadata.client_secret);
  return fetch(`${gw.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
      authorization: `Basic ${Buffer.from(`${app.metadata.client_id}:${secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken }).toString(),
  });
}

describe('Redis outage: a Redis this test owns is stopped and started again', () => {
  let redis: RedisServer;
  let gw: StartedGateway;
  let app: TestApp;
  const appMeta = confidentialClient('outage-app');
  const timings: string[] = [];

  before(async () => {
    redis = await startRedisServer({ appendOnly: true });
    gw = await startGateway({ clients: [appMeta], env: { GATEWAY_STORE: redis.url } });
    app = await discoverApp(gw.issuer, appMeta);
  });
  after(async () => {
    await gw?.close();
    await redis?.close();
    process.stderr.write(`# outage: ${timings.join(', ')}\n`);
  });

  it('answers 503 within 1 s while Redis is down, then resumes by itself and has lost nothing', async () => {
    // Before the outage: a signed-in user with a refresh token, and two sign-ins left half-way,
    // one at the gateway's interaction page, one coming back from Google.
    const tokens = await signIn(createBrowser(), app, gw.google.issuer, { email: 'before@example.com' });
    assert.ok(tokens.refresh_token);
    const atInteraction = createBrowser();
    const interaction = await atInteraction.follow((await startAuthorization(app)).url, (url) =>
      url.pathname.startsWith('/interaction/'),
    );
    assert.ok(interaction.location, 'the authorization request led to an interaction');
    const atCallback = createBrowser();
    const toGoogle = await atCallback.follow((await startAuthorization(app)).url, (url) =>
      url.href.startsWith(gw.google.issuer),
    );
    assert.ok(toGoogle.location, 'the interaction led to Google');
    const callback = await signInAtFakeGoogle(toGoogle.location.href, (url, init) => atCallback.fetch(url, init), {
      email: 'midway@example.com',
    });
    assert.ok(callback.startsWith(`${gw.issuer}/upstream/callback?`));
    const ready = await fetch(`${gw.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.equal(((await ready.json()) as { store: string }).store, 'redis');

    const stopped = performance.now();
    await redis.stop();

    const readyz = await timed(() => fetch(`${gw.url}/readyz`));
    assert.equal(readyz.value.status, 503);
    assert.equal(((await readyz.value.json()) as { title: string }).title, 'store_unavailable');
    assert.ok(readyz.ms < NOTICE_MS, `/readyz took ${readyz.ms} ms`);
    timings.push(`/readyz 503 in ${readyz.ms} ms`);

    const token = await timed(() => refreshRaw(gw, app, tokens.refresh_token ?? ''));
    assert.equal(token.value.status, 503);
    const body = (await token.value.json()) as { error: string; error_description?: string };
    assert.equal(body.error, 'temporarily_unavailable');
    assert.ok(body.error_description, 'a description for the developer');
    assert.ok(token.ms < NOTICE_MS, `/token took ${token.ms} ms`);
    timings.push(`/token 503 in ${token.ms} ms`);

    // The sign-in pages a person sees: a clear temporary error, not a 500.
    const pages = [
      ['interaction', () => atInteraction.fetch(interaction.location?.href ?? '')],
      ['upstream callback', () => atCallback.fetch(callback)],
      ['authorization', async () => createBrowser().fetch((await startAuthorization(app)).url)],
    ] as const;
    for (const [name, load] of pages) {
      const page = await timed(load);
      const html = await page.value.text();
      assert.equal(page.value.status, 503, `${name} page: HTTP ${page.value.status}`);
      assert.match(page.value.headers.get('content-type') ?? '', /text\/html/, `${name} page is a page`);
      assert.match(html, /temporarily unavailable|briefly unavailable/i, `${name} page says it is temporary`);
      assert.ok(page.ms < NOTICE_MS, `${name} page took ${page.ms} ms`);
      timings.push(`${name} page 503 in ${page.ms} ms`);
    }
    const healthz = await fetch(`${gw.url}/healthz`);
    assert.equal(healthz.status, 200, 'the process itself is fine');
    timings.push(`outage noticed on every path within ${Math.round(performance.now() - stopped)} ms of the stop`);

    // Stay down a while, so the client's reconnect backoff reaches its cap before Redis returns.
    await sleep(3_000);
    assert.equal((await fetch(`${gw.url}/readyz`)).status, 503);
    assert.equal((await refreshRaw(gw, app, tokens.refresh_token ?? '')).status, 503);

    const restarting = performance.now();
    await redis.start(); // resolves once Redis answers PING, i.e. its AOF is loaded
    const redisUpMs = Math.round(performance.now() - restarting);
    const back = performance.now();
    for (;;) {
      const response = await fetch(`${gw.url}/readyz`);
      if (response.status === 200) break;
      assert.ok(
        performance.now() - back < RESUME_MS,
        `/readyz still ${response.status} ${RESUME_MS} ms after Redis came back`,
      );
      await sleep(25);
    }
    const resumeMs = Math.round(performance.now() - back);
    timings.push(`redis-server restart ${redisUpMs} ms, then /readyz 200 after ${resumeMs} ms`);

    // Nothing written before the outage is lost: the refresh token issued then still works.
    const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '');
    assert.ok(refreshed.access_token);
    assert.ok(refreshed.refresh_token && refreshed.refresh_token !== tokens.refresh_token);
    assert.equal(refreshed.claims()?.sub, tokens.claims()?.sub);
    // And a new sign-in goes through end to end.
    const again = await signIn(createBrowser(), app, gw.google.issuer, { email: 'after@example.com' });
    assert.ok(again.refresh_token);
  });
});

describe('the embedded SQLite store survives a restart', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-restart-'));
  let google: FakeGoogle;
  after(async () => {
    await google?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a refresh token issued before the restart works after it', async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    google = await startFakeGoogle({
      clients: [
        {
          client_id: UPSTREAM_CLIENT.id,
          client_secret: UPSTREAM_CLIENT.secret,
          redirect_uris: [`${issuer}/upstream/callback`],
        },
      ],
    });
    const appMeta = confidentialClient('restart-app');
    const options = {
      port,
      fakeGoogle: google,
      clients: [appMeta],
      env: { GATEWAY_STORE: `sqlite://${join(dir, 'gateway.sqlite')}` },
    };

    const first = await startGateway(options);
    let tokens;
    try {
      tokens = await signIn(createBrowser(), await discoverApp(first.issuer, appMeta), google.issuer, {
        email: 'durable@example.com',
      });
    } finally {
      await first.close();
    }
    assert.ok(tokens.refresh_token);

    // One event-loop turn for this process's fetch pool to see the first instance close its
    // keep-alive sockets (a browser would retry on a new connection; openid-client does not).
    await sleep(50);
    const second = await startGateway(options);
    try {
      const app = await discoverApp(second.issuer, appMeta);
      const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token);
      assert.equal(refreshed.claims()?.sub, tokens.claims()?.sub);
      assert.equal(refreshed.claims()?.['email'], 'durable@example.com');
    } finally {
      await second.close();
    }
  });
});
