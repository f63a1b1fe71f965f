/**
 * A refresh cut off half-way (the instance froze or died, or the store failed, after the token
 * was consumed and before the answer was kept) can be retried: the client gets a working token
 * pair, not a signed-out user. Without killing processes (tests/instance-killed-under-load.test.ts
 * does that): the gateway runs on a memory store whose writes of chosen keys can be made to stall
 * or fail, exactly at the step an instance would have died at.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { openStore } from '../adapters/open-store.ts';
import type { Store } from '../adapters/store.ts';
import { StoreUnavailableError } from '../adapters/store-errors.ts';
import { createBrowser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { confidentialClient, discoverApp, signIn, type TestApp } from './helpers/relying-party.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

/** Which store calls a fault hits: by method name and key (under the store's own prefix). */
type Match = (method: string, key: string) => boolean;

/** The memory store, with faults at chosen calls. */
interface FaultyStore {
  store: Store;
  /** Calls `match` picks stall, from now until the returned function is called. */
  freeze(match: Match): () => void;
  /** The first call `match` picks fails, as in a store outage. */
  failOnce(match: Match): void;
}

async function faultyStore(): Promise<FaultyStore> {
  const inner = await openStore('memory://');
  const frozen = new Set<{ match: Match; thawed: Promise<void> }>();
  let failing: Match | undefined;
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return async (key: string, ...rest: unknown[]) => {
        const method = String(property);
        if (failing?.(method, key)) {
          failing = undefined;
          throw new StoreUnavailableError(`fault injected on ${method}`);
        }
        for (const freeze of frozen) if (freeze.match(method, key)) await freeze.thawed;
        return (value as (...args: unknown[]) => unknown).call(target, key, ...rest);
      };
    },
  });
  return {
    store,
    freeze(match) {
      let thaw = () => {};
      const freeze = { match, thawed: new Promise<void>((resolve) => (thaw = resolve)) };
      frozen.add(freeze);
      return () => {
        frozen.delete(freeze);
        thaw();
      };
    },
    failOnce(match) {
      failing = match;
    },
  };
}

/** A write of the grace answer (refresh-grace.ts); picks only the first one. */
function firstAnswerWrite(): Match {
  let seen = false;
  return (method, key) => {
    if (seen || !['set', 'setIfAbsent'].includes(method) || !key.startsWith('refresh-grace:')) return false;
    seen = true;
    return true;
  };
}

function refresh(gw: StartedGateway, meta: { client_id: string; client_secret: string }, token: string) {
  return fetch(`${gw.issuer}/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${meta.client_id}:${meta.client_secret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }),
  });
}

async function tokensOf(response: Response): Promise<{ status: number; refresh_token?: string; error?: string }> {
  return { status: response.status, ...((await response.json()) as { refresh_token?: string; error?: string }) };
}

describe('an app\'s refresh cut off after its token was consumed', () => {
  let faults: FaultyStore;
  let gw: StartedGateway;
  let app: TestApp;
  const meta = confidentialClient('cut-off-app');

  before(async () => {
    faults = await faultyStore();
    // The documented grace (5 s): longer than the lock's lease (3 s), as the retry needs.
    gw = await startGateway({ clients: [meta], store: faults.store });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => {
    await gw?.close();
    await faults?.store.close();
  });

  it('answers the retry with a working pair while the first holder is frozen, and the frozen one with the same pair', async () => {
    const { refresh_token: first = '' } = await signIn(createBrowser(), app, gw.google.issuer, { email: 'frozen@example.com' });
    // The first holder consumes the token and freezes before it keeps its answer, as an instance
    // that dies there; its lock is no longer renewed, so its lease lapses.
    const thaw = faults.freeze(((answer: Match) => (method, key) => (method === 'extendIfValue' && key.startsWith('lock:refresh:')) || answer(method, key))(firstAnswerWrite()));
    const frozen = refresh(gw, meta, first);
    await sleep(300);
    const retried = await tokensOf(await refresh(gw, meta, first));
    thaw();
    assert.equal(retried.status, 200, `the retry is answered, not taken for a replay (${retried.error ?? ''})`);
    assert.ok(retried.refresh_token && retried.refresh_token !== first);
    const late = await tokensOf(await frozen);
    assert.equal(late.status, 200);
    assert.equal(late.refresh_token, retried.refresh_token, 'one successor is delivered, not two');
    const next = await tokensOf(await refresh(gw, meta, retried.refresh_token));
    assert.equal(next.status, 200, 'the pair works');
  });

  it('rotates again on a retry after a store failure cut the refresh off; a replay after the grace is still reuse', async () => {
    const { refresh_token: first = '' } = await signIn(createBrowser(), app, gw.google.issuer, { email: 'outage@example.com' });
    faults.failOnce(firstAnswerWrite());
    const cut = await tokensOf(await refresh(gw, meta, first));
    assert.equal(cut.status, 503);
    assert.equal(cut.error, 'temporarily_unavailable');
    const retried = await tokensOf(await refresh(gw, meta, first));
    assert.equal(retried.status, 200, `the retry is answered (${retried.error ?? ''})`);
    assert.ok(retried.refresh_token && retried.refresh_token !== first);

    // The in-flight mark never outlives the grace: the first token presented again after it is reuse.
    await sleep(5_200);
    const replay = await tokensOf(await refresh(gw, meta, first));
    assert.equal(replay.status, 400);
    assert.equal(replay.error, 'invalid_grant');
    const revoked = await tokensOf(await refresh(gw, meta, retried.refresh_token));
    assert.equal(revoked.status, 400, 'the reuse revoked the grant');
  });
});

describe('a forward-auth check cut off between its refresh and the session\'s update', () => {
  let faults: FaultyStore;
  let gw: StartedGateway;

  before(async () => {
    faults = await faultyStore();
    // 1 s cookie tokens, refreshed at nearly every check; a grace shorter than the wait below.
    gw = await startGateway({ store: faults.store, env: { GATEWAY_ACCESS_TOKEN_TTL: '1', GATEWAY_REFRESH_GRACE: '1' } });
  });
  after(async () => {
    await gw?.close();
    await faults?.store.close();
  });

  it('loses nothing: the next check, even past the grace, refreshes and admits the cookie', async () => {
    const browser = createBrowser();
    const start = await browser.follow(`${gw.issuer}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
    assert.ok(start.location);
    const back = await signInAtFakeGoogle(start.location.href, (url, init) => browser.fetch(url, init), { email: 'cookie@example.com' });
    await browser.follow(back);
    const check = async () => {
      const response = await browser.fetch(`${gw.issuer}/oauth2/auth`);
      await response.body?.cancel();
      return response.status;
    };
    assert.equal(await check(), 202);

    await sleep(1_100); // the cookie's token has expired: the next check refreshes it
    faults.failOnce((method, key) => method === 'set' && key.startsWith('fa-session:'));
    assert.equal(await check(), 503, 'the refresh went through, the session\'s update did not');
    await sleep(1_500); // past the grace: a rotated token presented again would be reuse
    assert.equal(await check(), 202, 'the session still holds a working refresh token');
  });
});
