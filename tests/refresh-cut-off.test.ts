/**
 * A refresh cut off half-way (the instance froze or died, or the store failed, after the token
 * was consumed and before the answer was kept) can be retried: the client gets a working token
 * pair, not a signed-out user. Without killing processes (tests/instance-killed-under-load.test.ts
 * does that): the gateway runs on a memory store whose writes of chosen keys stall or fail,
 * exactly at the step an instance would have died at. The forward-auth cookie's refresh cut off
 * the same way is in tests/forward-auth-refresh.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBrowser } from './helpers/browser.ts';
import { faultyStore, firstOf, type FaultyStore, type Match } from './helpers/faulty-store.ts';
import { confidentialClient, discoverApp, signIn, type TestApp } from './helpers/relying-party.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

/** The write of the refresh grace's answer (refresh-grace.ts): the step after the consumption. */
const answerWrite: Match = (method, key) => ['set', 'setIfAbsent'].includes(method) && key.startsWith('refresh-grace:');
/** The renewal of a refresh lock's lease. */
const leaseRenewal: Match = (method, key) => method === 'extendIfValue' && key.startsWith('lock:refresh:');

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

describe("an app's refresh cut off after its token was consumed", () => {
  let faults: FaultyStore;
  let gw: StartedGateway;
  let app: TestApp;
  const meta = confidentialClient('cut-off-app');

  before(async () => {
    faults = faultyStore();
    // The documented grace (5 s): longer than the lock's lease (3 s), as the retry needs.
    gw = await startGateway({ clients: [meta], store: faults.store });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => {
    await gw?.close();
    await faults?.store.close();
  });

  it('answers the retry with a working pair while the first holder is frozen, and the frozen one with the same pair', async () => {
    const { refresh_token: first = '' } = await signIn(createBrowser(), app, gw.google.issuer, {
      email: 'frozen@example.com',
    });
    // The first holder consumes the token and freezes before it keeps its answer, as an instance
    // that dies there; its lock is no longer renewed, so its lease lapses.
    const answer = firstOf(answerWrite);
    const thaw = faults.freeze((method, key) => leaseRenewal(method, key) || answer(method, key));
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
    const { refresh_token: first = '' } = await signIn(createBrowser(), app, gw.google.issuer, {
      email: 'outage@example.com',
    });
    const restore = faults.fail(firstOf(answerWrite));
    const cut = await tokensOf(await refresh(gw, meta, first));
    restore();
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
