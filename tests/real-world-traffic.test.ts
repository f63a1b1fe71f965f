/**
 * The traffic users really send, with the shipped defaults (no limit turned off or raised), on a
 * real Redis store as in production:
 *
 * - an office behind one address (here: everyone reaches nginx from 127.0.0.1, and nginx tells the
 *   gateway so): a few hundred people sign in through the shipped nginx config and open a second
 *   app, and nobody is refused; the sign-in budget, measured per sign-in here, leaves room for an
 *   office of 2,000 signing in within ten minutes with bursts of three times the average;
 * - an app server refreshing its users' tokens from one address as fast as it can, with stale
 *   refresh tokens mixed in (users gone for weeks): nothing is refused.
 *
 * The brute-force shapes that ARE stopped are in abuse-resistance.test.ts and
 * limits-across-instances.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import type { Store } from '../adapters/store.ts';
import { createBrowser, loopbackDispatcher } from './helpers/browser.ts';
import { startEchoApp } from './helpers/echo-app.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { shippedNginxConfig, startNginx, type RunningNginx } from './helpers/nginx.ts';
import { confidentialClient, discoverApp, signIn, type TestApp } from './helpers/relying-party.ts';
import { sharedRedis } from './helpers/shared-redis.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

/** Runs `work(i)` for i in [0, count) with at most `concurrency` at once. */
async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

describe('an office behind one address signs in through nginx, with the defaults', () => {
  const redis = sharedRedis('office');
  const PEOPLE = 300;
  let store: Store;
  let gw: StartedGateway;
  let nginx: RunningNginx;
  let app: Awaited<ReturnType<typeof startEchoApp>>;
  let port: number;
  const dispatcher = loopbackDispatcher();

  before(async () => {
    port = await freePort();
    store = await redis.open();
    gw = await startGateway({
      store,
      env: {
        GATEWAY_COOKIE_DOMAINS: '.a.test,.b.example',
        GATEWAY_REDIRECT_DOMAINS: `.a.test:${port},.b.example:${port}`,
      },
    });
    app = await startEchoApp();
    const { conf, files } = shippedNginxConfig({
      listenPort: port,
      gatewayPort: new URL(gw.issuer).port,
      appPort: app.port,
      serverNames: 'app.a.test app.b.example',
    });
    nginx = await startNginx(port, conf, files);
  });
  after(async () => {
    await nginx?.stop();
    await app?.close();
    await gw?.close();
    await store?.close();
    await redis.cleanup();
    await dispatcher.close();
  });

  it(`lets ${PEOPLE} people sign in and open a second app, none refused, within a budget that fits 2,000 in ten minutes`, async () => {
    const statuses = new Map<number, number>();
    await pool(PEOPLE, 8, async (i) => {
      const browser = createBrowser({ dispatcher });
      let hop = await browser.follow(`http://app.a.test:${port}/desk/${i}`, (next) =>
        next.href.startsWith(gw.google.issuer),
      );
      assert.ok(hop.location, `person ${i} was sent to sign in (HTTP ${hop.response.status})`);
      const back = await signInAtFakeGoogle(hop.location.href, (u, init) => browser.fetch(u, init), {
        email: `person${i}@a.test`,
        name: `Person ${i}`,
      });
      hop = await browser.follow(back);
      statuses.set(hop.response.status, (statuses.get(hop.response.status) ?? 0) + 1);
      await hop.response.body?.cancel();
      const second = await browser.follow(`http://app.b.example:${port}/wiki`);
      statuses.set(second.response.status, (statuses.get(second.response.status) ?? 0) + 1);
      await second.response.body?.cancel();
    });
    assert.deepEqual([...statuses], [[200, PEOPLE * 2]], 'every person reached both apps');
    // The budget these sign-ins used, as counted in the store, per person.
    const counter = (await redis.keys()).find((key) => key.includes('regulation:sign_in_steps|addr:127.0.0.1'));
    const used = counter ? Number(await store.get(counter.slice(redis.prefix.length))) : 0;
    const perPerson = used / PEOPLE;
    assert.ok(perPerson > 0 && perPerson <= 2, `sign-in steps per person: ${perPerson}`);
    // 2,000 people in ten minutes is 200 a minute; three times that in the worst minute fits.
    const budget = gw.app.gateway.config.regulation.signInSteps;
    assert.ok(
      3 * 200 * perPerson <= budget,
      `${3 * 200 * perPerson} steps in the worst minute of a 2,000-person office > ${budget}`,
    );
  });
});

describe("an app server refreshes its users' tokens from one address, with the defaults", () => {
  const redis = sharedRedis('app-server');
  const USERS = 40;
  const ROUNDS = 25;
  const meta = confidentialClient('busy-backend');
  let store: Store;
  let gw: StartedGateway;
  let app: TestApp;

  before(async () => {
    store = await redis.open();
    gw = await startGateway({ store, clients: [meta] });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => {
    await gw?.close();
    await store?.close();
    await redis.cleanup();
  });

  it(`refreshes ${USERS * ROUNDS} times as fast as it can, with stale tokens mixed in, and is never refused`, async () => {
    const refreshTokens: string[] = [];
    await pool(USERS, 4, async (i) => {
      const tokens = await signIn(createBrowser(), app, gw.google.issuer, { email: `user${i}@example.com` });
      refreshTokens[i] = tokens.refresh_token ?? '';
    });
    const statuses = new Map<number, number>();
    const started = Date.now();
    await pool(USERS, USERS, async (i) => {
      for (let round = 0; round < ROUNDS; round += 1) {
        const response = await fetch(`${gw.url}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: `Basic ${Buffer.from(`${meta.client_id}:${meta.client_secret}`).toString('base64')}`,
          },
          body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshTokens[i] ?? '' }).toString(),
        });
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        const body = (await response.json()) as { refresh_token?: string };
        if (body.refresh_token) refreshTokens[i] = body.refresh_token;
        // A user gone for weeks: the app tries the stale token once, gets invalid_grant, moves on.
        if (round % 5 === 0) {
          const stale = await client
            .refreshTokenGrant(app.config, `stale-${i}-${round}`)
            .catch((error: unknown) => error);
          assert.ok(stale instanceof client.ResponseBodyError && stale.error === 'invalid_grant');
        }
      }
    });
    const seconds = (Date.now() - started) / 1000;
    assert.deepEqual(
      [...statuses],
      [[200, USERS * ROUNDS]],
      `answers by status; ${Math.round((USERS * ROUNDS) / seconds)} refreshes/s here`,
    );
  });
});
