/**
 * Rotating GATEWAY_SECRETS over a sealed store, as an operator does it: add the new secret first
 * and restart, later drop the old one and restart again. Every record sealed before stays
 * readable at each step (a refresh token, the signing keys, a stored client's secret, the user's
 * upstream tokens, a forward-auth cookie); a gateway given a secret that never wrapped the
 * store's data key refuses to start with one clear reason, and changes nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import { Agent, setGlobalDispatcher } from 'undici';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { createBrowser } from './helpers/browser.ts';
import { introspectAs } from './helpers/consent.ts';
import { signInAtFakeGoogle, startFakeGoogle, type FakeGoogle } from './helpers/fake-google.ts';
import { startLoggedGateway, type LoggedGateway } from './helpers/logged-gateway.ts';
import { confidentialClient, discoverApp, signIn } from './helpers/relying-party.ts';
import { freePort, UPSTREAM_CLIENT } from './helpers/start-gateway.ts';

// The gateway restarts on the same port: a keep-alive socket to the stopped instance, still in
// fetch's pool, would be reused and fail ("other side closed"). One connection per request here.
setGlobalDispatcher(new Agent({ pipelining: 0 }));

const OLD = 'rotation-old-secret-0123456789abcdef0123';
const NEW = 'rotation-new-secret-0123456789abcdef0123';

describe('GATEWAY_SECRETS rotation over a sealed store', () => {
  const store = createMemoryStore();
  const dir = mkdtempSync(join(tmpdir(), 'secrets-rotation-'));
  const meta = confidentialClient('rotation-stored-app');
  let google: FakeGoogle;
  let port: number;
  let gw: LoggedGateway | undefined;

  /** A restart of the one gateway on the same store, address and upstream, with `secrets`. */
  const restart = async (secrets: string[]) => {
    await gw?.close();
    gw = undefined;
    gw = await startLoggedGateway({
      store,
      port,
      fakeGoogle: google,
      // Access tokens of 2 s: the forward-auth cookie's JWT has expired at each check, so its
      // sealed server-side session must be read to refresh it. (1 s would be flaky: a token
      // issued just before a second ticks over is already expired when the callback checks it.)
      env: {
        GATEWAY_SECRETS: secrets.join(','),
        GATEWAY_CLIENTS_FILE: join(dir, 'clients.json'),
        GATEWAY_ACCESS_TOKEN_TTL: '2',
        NODE_ENV: 'production',
      },
    });
    return gw;
  };

  before(async () => {
    writeFileSync(join(dir, 'clients.json'), JSON.stringify([meta]));
    port = await freePort();
    google = await startFakeGoogle({
      clients: [
        {
          client_id: UPSTREAM_CLIENT.id,
          client_secret: UPSTREAM_CLIENT.secret,
          redirect_uris: [`http://127.0.0.1:${port}/upstream/callback`],
        },
      ],
    });
  });
  after(async () => {
    await gw?.close();
    await google?.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps every sealed record readable while the new secret is added and the old one dropped', async () => {
    let current = await restart([OLD]);
    const app = await discoverApp(current.issuer, meta);
    const tokens = await signIn(createBrowser(), app, google.issuer, { email: 'rotating@example.com' });
    const sub = String(tokens.claims()?.sub);
    const browser = createBrowser();
    const toGoogle = await browser.follow(`${current.issuer}/oauth2/start?rd=/`, (url) =>
      url.href.startsWith(google.issuer),
    );
    await browser.follow(
      await signInAtFakeGoogle(toGoogle.location?.href ?? '', (url, init) => browser.fetch(url, init), {
        email: 'rotating@example.com',
      }),
    );
    const faCookie = () => browser.cookies(`${current.issuer}/`).find((c) => c.name === '_gateway_auth')?.value ?? '';
    assert.ok(faCookie().includes('~'), 'forward auth signed in');
    const kids = (await (await fetch(`${current.issuer}/jwks`)).json()) as { keys: Array<{ kid: string }> };
    let refreshToken = tokens.refresh_token ?? '';

    for (const secrets of [[NEW, OLD], [NEW]]) {
      current = await restart(secrets);
      assert.deepEqual(
        await (await fetch(`${current.issuer}/jwks`)).json(),
        kids,
        `the same signing keys with ${secrets.length} secret(s)`,
      );
      const refreshed = await client.refreshTokenGrant((await discoverApp(current.issuer, meta)).config, refreshToken);
      refreshToken = refreshed.refresh_token ?? '';
      assert.equal(
        (await introspectAs(current.issuer, meta.client_id, meta.client_secret)).status,
        200,
        'the stored client still authenticates',
      );
      assert.ok(await current.app.gateway.vault.load(sub), 'the upstream tokens still open');
      const expired = faCookie();
      await new Promise((resolve) => setTimeout(resolve, 2100));
      assert.equal(
        (await browser.fetch(`${current.issuer}/oauth2/auth`)).status,
        202,
        'the forward-auth session still opens',
      );
      assert.notEqual(faCookie(), expired, 'its cookie was refreshed from the sealed session');
    }
    const rewrapped = current.logs.some((line) => line['event'] === 'data_key_rewrapped');
    assert.equal(rewrapped, false, 'with the old secret dropped there is nothing left to re-wrap');
  });

  it('logs the re-wrap once, on the start that added the new secret', async () => {
    const freshStore = createMemoryStore();
    try {
      const first = await startLoggedGateway({ store: freshStore, env: { GATEWAY_SECRETS: OLD } });
      await first.close();
      const second = await startLoggedGateway({ store: freshStore, env: { GATEWAY_SECRETS: `${NEW},${OLD}` } });
      await second.close();
      assert.equal(second.logs.filter((line) => line['event'] === 'data_key_rewrapped').length, 1);
      assert.ok(!second.logText().includes(OLD) && !second.logText().includes(NEW), 'no secret in the log');
    } finally {
      await freshStore.close();
    }
  });

  it('refuses to start with a secret that never wrapped the data key', async () => {
    await gw?.close();
    gw = undefined;
    await assert.rejects(restart(['a-secret-from-another-deployment-0123456789']), {
      name: 'DataKeyError',
      message: /no GATEWAY_SECRETS entry opens the store's data key/,
    });
    const back = await restart([NEW]);
    assert.equal(
      (await introspectAs(back.issuer, meta.client_id, meta.client_secret)).status,
      200,
      'nothing was changed by the refused start',
    );
  });
});
