/**
 * `npx gateway users sign-out <sub>` against a running gateway on real Redis: the user's apps can
 * no longer refresh, their access JWTs introspect as inactive, and their forward-auth cookie is
 * refused at once (the store's channel). The
 * CLI opens the store with the gateway's default key prefix, so the test takes a Redis database
 * of its own (the first of 7…4 whose lock it can take) and empties it afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { openStore } from '../adapters/open-store.ts';
import { claimRedisDatabase, type ClaimedDatabase } from './helpers/redis-database.ts';
import type { Store } from '../adapters/store.ts';
import { createBrowser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { confidentialClient, discoverApp, signIn } from './helpers/relying-party.ts';
import { startGateway, TEST_SECRET, type StartedGateway } from './helpers/start-gateway.ts';

function cli(args: string[], storeUrl: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // The gateway's settings: its store, and its GATEWAY_SECRETS to open the store's sealing.
    const env = { PATH: process.env['PATH'] ?? '', GATEWAY_STORE: storeUrl, GATEWAY_SECRETS: TEST_SECRET };
    const child = spawn(process.execPath, ['bin/gateway.ts', ...args], { env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Signs `email` in through forward auth on `gw`; the browser and its `_gateway_auth` cookie. */
async function signInForwardAuth(gw: StartedGateway, email: string) {
  const browser = createBrowser();
  const start = await browser.follow(`${gw.issuer}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
  const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => browser.fetch(u, init), { email });
  await browser.follow(back);
  const cookie = browser.cookies(`${gw.issuer}/`).find((c) => c.name === '_gateway_auth');
  assert.ok(cookie);
  const check = () => fetch(`${gw.issuer}/oauth2/auth`, { headers: { cookie: `_gateway_auth=${cookie.value}` } });
  return { browser, check };
}

describe('npx gateway users sign-out', () => {
  let database: ClaimedDatabase | undefined;
  let storeUrl: string;
  let store: Store;
  let gw: StartedGateway;
  const meta = confidentialClient('signed-out-app');

  before(async () => {
    database = await claimRedisDatabase('users-cli-test', [7, 6, 5, 4], 300_000);
    storeUrl = database.url;
    await database.empty();
    store = await openStore(storeUrl);
    gw = await startGateway({ store, clients: [meta] });
  });
  after(async () => {
    await gw?.close();
    await store?.close();
    await database?.release();
  });

  it("ends the user's app grants and forward-auth cookie at once, on a running gateway", async () => {
    const { browser, check } = await signInForwardAuth(gw, 'leaver@example.com');
    assert.equal((await check()).status, 202);
    const app = await discoverApp(gw.issuer, meta);
    const tokens = await signIn(browser, app, gw.google.issuer, { email: 'unused@example.com' });
    const sub = String(tokens.claims()?.sub);
    assert.equal((await client.tokenIntrospection(app.config, tokens.access_token)).active, true);

    const result = await cli(['users', 'sign-out', sub, '--json'], storeUrl);
    assert.equal(result.code, 0, result.stderr);
    const counts = JSON.parse(result.stdout) as { sessions: number; grants: number; forwardAuthSessions: number };
    assert.ok(counts.sessions >= 1 && counts.grants >= 2 && counts.forwardAuthSessions >= 1, result.stdout);
    assert.match(result.stderr, /"audit":"account.signed_out"/);

    let status = 0;
    for (let i = 0; i < 50 && status !== 401; i += 1) {
      status = (await check()).status;
      if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(status, 401, 'the running gateway refuses the forward-auth cookie');
    await assert.rejects(client.refreshTokenGrant(app.config, tokens.refresh_token ?? ''), { error: 'invalid_grant' });
    // The access JWT still verifies offline until it expires, but introspection knows its grant ended.
    assert.deepEqual(await client.tokenIntrospection(app.config, tokens.access_token), { active: false });
  });

  it('refuses an unknown user with one line and a non-zero exit', async () => {
    const result = await cli(['users', 'sign-out', 'no-such-sub'], storeUrl);
    assert.equal(result.code, 1);
    assert.equal(result.stderr.trim().split('\n').length, 1);
    assert.match(result.stderr, /no account/);
    const usage = await cli(['users', 'delete'], storeUrl);
    assert.equal(usage.code, 2);
  });
});

describe('npx gateway users sign-out on SQLite, the default store', () => {
  // The CLI is another process: SQLite's channel does not reach the gateway, the store does.
  const dir = mkdtempSync(join(tmpdir(), 'users-sign-out-sqlite-'));
  const storeUrl = `sqlite://${join(dir, 'gateway.sqlite')}`;
  let store: Store;
  let gw: StartedGateway;

  before(async () => {
    store = await openStore(storeUrl);
    gw = await startGateway({ store });
  });
  after(async () => {
    await gw?.close();
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the forward-auth cookie on the running gateway within about a second', async () => {
    const { check } = await signInForwardAuth(gw, 'sqlite-leaver@example.com');
    const passed = await check();
    assert.equal(passed.status, 202);
    const sub = String(passed.headers.get('x-auth-request-user'));

    const result = await cli(['users', 'sign-out', sub, '--json'], storeUrl);
    assert.equal(result.code, 0, result.stderr);
    const startedAt = Date.now();
    let status = 0;
    while (status !== 401 && Date.now() - startedAt < 5_000) {
      status = (await check()).status;
      if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.equal(status, 401, 'the running gateway refuses the cookie (it reads sign-outs from the store)');
  });
});
