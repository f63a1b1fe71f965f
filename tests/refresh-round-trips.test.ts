/**
 * What one request costs the shared store, counted, not timed: a refresh grant (rotation, a JWT
 * access token, an ID token), an authorization-code exchange and a forward-auth check with a valid
 * cookie, each on a gateway over a redis-server this test starts (MONITOR sees every client, so
 * never the shared one). Counted twice: the Store calls the gateway makes (each one round trip:
 * one command, one script or one pipeline) and the commands Redis receives (a script counts once,
 * whatever it runs). A change that adds round trips to these paths fails here; docs/PERFORMANCE.md
 * ("Store round trips per request") records the figures and why each one is needed.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { openStore } from '../adapters/open-store.ts';
import type { Store } from '../adapters/store.ts';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { monitorRedis, summarize, type RedisMonitor } from './helpers/redis-monitor.ts';
import { startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  redeem,
  startAuthorization,
  type TestApp,
} from './helpers/relying-party.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

/** A store that counts its calls by method (the calls that reach Redis: not kind, close, subscribe). */
function countingStore(store: Store): { store: Store; calls: Map<string, number>; total(): number } {
  const calls = new Map<string, number>();
  const counted = new Proxy(store, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (property !== 'close' && property !== 'subscribe') {
          calls.set(String(property), (calls.get(String(property)) ?? 0) + 1);
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { store: counted, calls, total: () => [...calls.values()].reduce((a, b) => a + b, 0) };
}

/**
 * The bounds (docs/PERFORMANCE.md has the list of each). Before one script or MGET per step they
 * were 24 for a refresh and 13 for a code exchange. A script's first use on a server costs one
 * command more (EVALSHA answered NOSCRIPT, then EVAL), not one round trip more for the caller.
 */
const REFRESH_ROUND_TRIPS = 14;
const CODE_EXCHANGE_ROUND_TRIPS = 8;
/** Scripts that may meet NOSCRIPT on first use within one request. */
const FIRST_USE_SLACK = 3;

interface Cost {
  /** Store calls, i.e. round trips. */
  roundTrips: number;
  /** Commands Redis received from clients (a script once). */
  commands: number;
  detail: string;
}

describe('store round trips per request, on Redis', () => {
  let redis: RedisServer;
  let monitor: RedisMonitor;
  let counting: ReturnType<typeof countingStore>;
  let gw: StartedGateway;
  let app: TestApp;
  let browser: Browser;
  const costs: Record<string, Cost> = {};

  async function cost(name: string, work: () => Promise<unknown>): Promise<Cost> {
    counting.calls.clear();
    const seen = await monitor.around(work);
    const result = {
      roundTrips: counting.total(),
      commands: seen.sent.length,
      detail: `store calls: ${[...counting.calls].map(([m, n]) => `${m} ×${n}`).join(', ') || 'none'}; sent: ${summarize(seen.sent)}; in scripts: ${summarize(seen.inScripts)}`,
    };
    costs[name] = result;
    return result;
  }

  before(async () => {
    redis = await startRedisServer();
    counting = countingStore(await openStore(redis.url, { prefix: 'round-trips:' }));
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    // A client whose access tokens are JWTs (RFC 9068, for the gateway's own origin as resource),
    // as in the refresh benchmark; every other setting at its default.
    const meta = confidentialClient('round-trips-app', { resources: [issuer] });
    gw = await startGateway({ port, store: counting.store, clients: [meta], keyRefreshMs: 3_600_000 });
    app = await discoverApp(gw.issuer, meta);
    browser = createBrowser();
    monitor = await monitorRedis(redis.port);
  });
  after(async () => {
    monitor?.close();
    await gw?.close();
    await counting?.store.close();
    await redis?.close();
    for (const [name, { roundTrips, commands, detail }] of Object.entries(costs)) {
      console.log(`# ${name}: ${roundTrips} round trips, ${commands} commands (${detail})`);
    }
  });

  async function codeFlow(): Promise<{ start: Awaited<ReturnType<typeof startAuthorization>>; callback: URL }> {
    const start = await startAuthorization(app, { resource: gw.issuer });
    const { callback } = await authorizeInBrowser(browser, app, start, gw.google.issuer, {
      email: 'counted@example.com',
      name: 'Counted',
    });
    assert.ok(callback, 'the sign-in came back with a code');
    return { start, callback };
  }

  it('a forward-auth check with a valid cookie costs nothing', async () => {
    const start = await browser.follow(`${gw.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => browser.fetch(u, init), {
      email: 'counted@example.com',
      name: 'Counted',
    });
    await browser.follow(back);
    assert.equal((await browser.fetch(`${gw.url}/oauth2/auth`)).status, 202);
    const checked = await cost('forward-auth check, valid cookie', async () => {
      assert.equal((await browser.fetch(`${gw.url}/oauth2/auth`)).status, 202);
    });
    assert.equal(checked.roundTrips, 0, checked.detail);
    assert.equal(checked.commands, 0, checked.detail);
  });

  it('an authorization-code exchange and a refresh grant stay within their round trips', async () => {
    const { start, callback } = await codeFlow();
    let tokens: Awaited<ReturnType<typeof redeem>> | undefined;
    const exchange = await cost('authorization-code exchange', async () => {
      tokens = await redeem(app, start, callback);
    });
    assert.ok(tokens?.refresh_token && tokens.id_token);
    assert.equal(tokens.access_token.split('.').length, 3, 'a JWT access token');

    let refreshToken = tokens.refresh_token;
    for (const name of ['refresh grant (first)', 'refresh grant (second)']) {
      const refreshed = await cost(name, async () => {
        const answer = await client.refreshTokenGrant(app.config, refreshToken);
        assert.ok(answer.refresh_token && answer.refresh_token !== refreshToken, 'rotated');
        assert.ok(answer.id_token, 'with an ID token');
        assert.equal(answer.access_token.split('.').length, 3, 'a JWT access token');
        refreshToken = answer.refresh_token;
      });
      assert.ok(
        refreshed.roundTrips <= REFRESH_ROUND_TRIPS,
        `${name}: ${refreshed.roundTrips} round trips: ${refreshed.detail}`,
      );
      assert.ok(
        refreshed.commands <= REFRESH_ROUND_TRIPS + FIRST_USE_SLACK,
        `${name}: ${refreshed.commands} commands: ${refreshed.detail}`,
      );
    }
    assert.ok(
      costs['refresh grant (second)']!.commands <= REFRESH_ROUND_TRIPS,
      'once its scripts are loaded, a refresh sends one command per round trip',
    );
    assert.ok(
      exchange.roundTrips <= CODE_EXCHANGE_ROUND_TRIPS,
      `${exchange.roundTrips} round trips: ${exchange.detail}`,
    );
    assert.ok(exchange.commands <= CODE_EXCHANGE_ROUND_TRIPS + FIRST_USE_SLACK, exchange.detail);
  });
});
