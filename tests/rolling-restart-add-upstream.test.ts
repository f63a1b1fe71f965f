/**
 * Adding an upstream is a rolling restart that signs nobody out: two instances behind a load
 * balancer on one Redis, first with the single upstream of the UPSTREAM_* shorthand, then
 * restarted one after the other with GATEWAY_UPSTREAMS listing that same provider (under an id
 * of the operator's, `staff`) and a new one (GitHub). Before, during (the two instances on
 * different settings) and after: the app's refresh token keeps working, and keeps re-checking
 * the user at the upstream with the stored upstream tokens; the browser's session keeps giving
 * codes without a new sign-in; and once both run the new settings, the new upstream signs in.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Store } from '../adapters/store.ts';
import { createBrowser } from './helpers/browser.ts';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.ts';
import { type FakeGoogle, startFakeGoogle } from './helpers/fake-google.ts';
import { type LoadBalancer, startLoadBalancer } from './helpers/load-balancer.ts';
import {
  confidentialClient,
  discoverApp,
  redeem,
  signIn,
  startAuthorization,
  type TestApp,
} from './helpers/relying-party.ts';
import { type SharedRedis, sharedRedis } from './helpers/shared-redis.ts';
import { freePort, startGateway, type StartedGateway, UPSTREAM_CLIENT } from './helpers/start-gateway.ts';
import * as client from 'openid-client';

describe('adding an upstream with a rolling restart of two instances', () => {
  const meta = confidentialClient('rolling-app');
  let redis: SharedRedis;
  let lb: LoadBalancer;
  let google: FakeGoogle;
  let github: FakeGitHub;
  let ports: number[];
  const instances: (StartedGateway | undefined)[] = [];
  const stores: Store[] = [];
  let app: TestApp;

  /** The settings after the change: the same provider under an id, and GitHub. */
  const listed = () => ({
    UPSTREAM_CLIENT_ID: '',
    UPSTREAM_CLIENT_SECRET: '',
    GATEWAY_UPSTREAMS: JSON.stringify([
      {
        id: 'staff',
        type: 'oidc',
        name: 'Staff',
        issuer: google.issuer,
        client_id: UPSTREAM_CLIENT.id,
        client_secret: UPSTREAM_CLIENT.secret,
      },
      { id: 'contractors', type: 'github', base_url: github.url, client_id: 'gh', client_secret: 'gh-secret' },
    ]),
  });

  async function start(index: number, env: Record<string, string>) {
    const store = await redis.open();
    stores.push(store);
    instances[index] = await startGateway({
      port: ports[index] ?? 0,
      issuer: lb.url,
      fakeGoogle: google,
      store,
      clients: [meta],
      // Every refresh re-checks the user at the upstream with the stored upstream tokens.
      env: { GATEWAY_UPSTREAM_RECHECK_INTERVAL: '0', ...env },
    });
  }

  before(async () => {
    redis = sharedRedis('rolling-add-upstream');
    ports = [await freePort(), await freePort()];
    lb = await startLoadBalancer(ports.map((port) => `http://127.0.0.1:${port}`));
    google = await startFakeGoogle({
      clients: [
        {
          client_id: UPSTREAM_CLIENT.id,
          client_secret: UPSTREAM_CLIENT.secret,
          // The operator registers the new redirect URI before the restart, keeping the old one.
          redirect_uris: [`${lb.url}/upstream/callback`, `${lb.url}/upstream/staff/callback`],
        },
      ],
    });
    github = await startFakeGitHub({
      client: { id: 'gh', secret: 'gh-secret', redirectUri: `${lb.url}/upstream/contractors/callback` },
    });
    await start(0, {});
    await start(1, {});
    app = await discoverApp(lb.url, meta);
  });
  after(async () => {
    for (const instance of instances) await instance?.close();
    for (const store of stores) await store.close();
    await lb?.close();
    await google?.close();
    await github?.close();
    await redis?.cleanup();
  });

  it('keeps every session and refresh token through the restart, then signs in at the new upstream', async () => {
    const browser = createBrowser();
    let tokens: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers = await signIn(
      browser,
      app,
      google.issuer,
      { email: 'rolling@example.com' },
    );
    const sub = tokens.claims()?.sub;
    assert.ok(sub && tokens.refresh_token);

    /** The app's refresh, and a new authorization in the same browser: both must still work. */
    const stillSignedIn = async (when: string) => {
      for (let i = 0; i < 2; i += 1) {
        // Round robin: one of each pair lands on each instance.
        const before = google.idp.counters.userinfo;
        tokens = await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '');
        assert.equal(tokens.claims()?.sub, sub, `${when}: the refresh keeps the user`);
        assert.equal(
          google.idp.counters.userinfo,
          before + 1,
          `${when}: re-checked at the upstream with its stored token`,
        );
        const authorizations = google.idp.counters.authorization;
        const start = await startAuthorization(app);
        const hop = await browser.follow(start.url, (url) => url.href.startsWith(meta.redirect_uris[0] ?? ''));
        assert.ok(
          hop.location,
          `${when}: the session still gives a code (got ${hop.response.status} at ${hop.url.href})`,
        );
        assert.equal((await redeem(app, start, hop.location)).claims()?.sub, sub);
        assert.equal(google.idp.counters.authorization, authorizations, `${when}: no new sign-in at the upstream`);
      }
    };

    await stillSignedIn('before');
    // Instance 0 drained, restarted with the list, back in; instance 1 still on the shorthand.
    lb.use(1);
    await instances[0]?.close();
    await start(0, listed());
    lb.use('round-robin');
    await stillSignedIn('while the instances differ');
    lb.use(0);
    await instances[1]?.close();
    await start(1, listed());
    lb.use('round-robin');
    await stillSignedIn('after');

    // The new upstream, on both instances now: a contractor signs in through the chooser.
    github.signInAs({
      id: 4711,
      login: 'newcomer',
      emails: [{ email: 'new@contractor.example', primary: true, verified: true }],
    });
    const viaGitHub = await startAuthorization(app, { upstream: 'contractors' });
    const hop = await createBrowser().follow(viaGitHub.url, (url) => url.href.startsWith(meta.redirect_uris[0] ?? ''));
    assert.ok(hop.location, 'signed in at the new upstream');
    assert.equal((await redeem(app, viaGitHub, hop.location)).claims()?.['email'], 'new@contractor.example');
  });
});
