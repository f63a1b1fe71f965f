/**
 * Every way a session ends, ending the same things (gateway/sessions/sign-out.ts): forward-auth
 * sign-out, RP-initiated logout, an operator's `npx gateway users sign-out` and a refresh token
 * reused after the grace.
 *
 * Two gateway instances share one real Redis behind one issuer (a load balancer the test steers),
 * with forward auth on two cookie domains (`.a.test`, `.b.example`). For each path a user signs in
 * through instance A to two apps (one with a `backchannel_logout_uri`, served by a small HTTP
 * server here; the other with an `offline_access` grant, which oidc-provider's own logout would
 * keep) and to forward auth on both domains, everything is seen working on both
 * instances, the path is taken through instance B (the CLI in a process of its own), and then
 * the one same outcome is asserted on both instances: both apps' refresh tokens refused
 * (`invalid_grant`) and their tokens inactive at introspection, one logout token received and
 * valid, both forward-auth cookies refused, and the next sign-in back at Google.
 *
 * The apps come from GATEWAY_CLIENTS_FILE (in the store, where the CLI finds them too). The CLI
 * opens the store with the gateway's default key prefix, so the suite takes a Redis database of
 * its own (the first of 3…1 whose lock it can take) and empties it afterwards.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import * as client from 'openid-client';
import { fetch as undiciFetch } from 'undici';
import { openStore } from '../adapters/open-store.ts';
import { claimRedisDatabase, type ClaimedDatabase } from './helpers/redis-database.ts';
import type { Store } from '../adapters/store.ts';
import { createBrowser, loopbackDispatcher, type Browser } from './helpers/browser.ts';
import { signInWithConsent } from './helpers/consent.ts';
import { signInAtFakeGoogle, startFakeGoogle, type FakeGoogle } from './helpers/fake-google.ts';
import { startLoadBalancer, type LoadBalancer } from './helpers/load-balancer.ts';
import { logOut } from './helpers/log-out.ts';
import { confidentialClient, discoverApp, signIn, startAuthorization, type TestApp } from './helpers/relying-party.ts';
import { freePort, startGateway, TEST_SECRET, UPSTREAM_CLIENT, type StartedGateway } from './helpers/start-gateway.ts';

const REFRESH_GRACE_SECONDS = 1;

/** An app's back-channel logout endpoint that records the logout tokens it receives. */
async function startLogoutReceiver() {
  const received: string[] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      received.push(new URLSearchParams(body).get('logout_token') ?? '');
      res.statusCode = 200;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel-logout`;
  return { url, received, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('every sign-out path ends the same things, on every instance', () => {
  let database: ClaimedDatabase | undefined;
  let storeUrl: string;
  let dir: string;
  let receiver: Awaited<ReturnType<typeof startLogoutReceiver>>;
  let lb: LoadBalancer;
  let google: FakeGoogle;
  const stores: Store[] = [];
  const gateways: StartedGateway[] = [];
  const dispatcher = loopbackDispatcher();
  let env: Record<string, string>;
  let slo: TestApp;
  let plain: TestApp;
  const sloMeta = confidentialClient('slo-app', { backchannel_logout_session_required: true });
  const plainMeta = confidentialClient('plain-app', { client_name: 'Plain App' });
  /** The two forward-auth domains, as nginx in front of their apps serves them (through the balancer). */
  const origins = () => ({ a: `http://app.a.test:${lb.port}`, b: `http://app.b.example:${lb.port}` });

  before(async () => {
    database = await claimRedisDatabase('sign-out-paths-test', [3, 2, 1], 600_000);
    storeUrl = database.url;
    await database.empty();
    receiver = await startLogoutReceiver();
    Object.assign(sloMeta, { backchannel_logout_uri: receiver.url });
    dir = mkdtempSync(join(tmpdir(), 'sign-out-paths-'));
    const clientsFile = join(dir, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify([sloMeta, plainMeta]));
    const ports = [await freePort(), await freePort()];
    lb = await startLoadBalancer(ports.map((port) => `http://127.0.0.1:${port}`));
    google = await startFakeGoogle({
      clients: [
        {
          client_id: UPSTREAM_CLIENT.id,
          client_secret: UPSTREAM_CLIENT.secret,
          redirect_uris: [`${lb.url}/upstream/callback`],
        },
      ],
    });
    // What the gateways and the CLI share: the operator's settings.
    env = {
      GATEWAY_CLIENTS_FILE: clientsFile,
      GATEWAY_COOKIE_DOMAINS: '.a.test,.b.example',
      GATEWAY_REDIRECT_DOMAINS: `.a.test:${lb.port},.b.example:${lb.port}`,
      // the app's logout endpoint is on loopback, which the gateway calls only when told (SSRF protection)
      GATEWAY_OUTBOUND_PRIVATE_HOSTS: new URL(receiver.url).host,
      GATEWAY_REFRESH_GRACE: String(REFRESH_GRACE_SECONDS),
    };
    for (const port of ports) {
      const store = await openStore(storeUrl);
      stores.push(store);
      gateways.push(await startGateway({ port, issuer: lb.url, fakeGoogle: google, store, env }));
    }
    lb.use(0);
    slo = await discoverApp(lb.url, sloMeta);
    plain = await discoverApp(lb.url, plainMeta);
  });
  after(async () => {
    for (const gateway of gateways) await gateway.close();
    for (const store of stores) await store.close();
    await lb?.close();
    await google?.close();
    await receiver?.close();
    await dispatcher.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await database?.release();
  });

  interface SignedIn {
    browser: Browser;
    sub: string;
    /** The latest token response of each app (the refresh token it would use next). */
    tokens: { slo: client.TokenEndpointResponse; plain: client.TokenEndpointResponse };
    /** The slo app's session id (`sid` of its ID token): what its logout token must name. */
    sloSid: unknown;
    /** Every access token issued to the apps on the way. */
    accessTokens: string[];
    /** The forward-auth cookie of each domain. */
    cookies: { a: string; b: string };
  }

  const atGoogle = (url: URL) => url.href.startsWith(google.issuer);

  /** Answers `/oauth2/auth` on one instance for one domain's cookie. */
  async function authCheck(instance: number, origin: string, cookie: string): Promise<number> {
    lb.use(instance);
    const response = await undiciFetch(`${origin}/oauth2/auth`, {
      headers: { cookie: `_gateway_auth=${cookie}` },
      dispatcher,
    });
    await response.body?.cancel();
    return response.status;
  }

  /** One user, signed in through instance A to forward auth on both domains and to both apps. */
  async function signInEverywhere(email: string): Promise<SignedIn> {
    lb.use(0);
    const browser = createBrowser({ dispatcher });
    const { a, b } = origins();
    const start = await browser.follow(`${a}/oauth2/start?rd=/`, atGoogle);
    assert.ok(start.location, 'forward auth sends the browser to Google');
    const back = await signInAtFakeGoogle(start.location.href, (url, init) => browser.fetch(url, init), { email });
    await browser.follow(back, (url) => url.pathname === '/');
    const second = await browser.follow(`${b}/oauth2/start?rd=/`, (url) => atGoogle(url) || url.pathname === '/');
    assert.ok(second.location && !atGoogle(second.location), 'the second domain signs in without Google (SSO)');
    const cookieOf = (origin: string) =>
      browser.cookies(`${origin}/`).find((c) => c.name === '_gateway_auth')?.value ?? '';
    const cookies = { a: cookieOf(a), b: cookieOf(b) };
    assert.ok(cookies.a && cookies.b && cookies.a !== cookies.b, 'one forward-auth cookie per domain');
    const sloTokens = await signIn(browser, slo, google.issuer, { email: 'never-asked@example.com' });
    // offline_access: a grant oidc-provider keeps past its own logout; a sign-out ends it all the same.
    const plainTokens = await signInWithConsent(browser, { issuer: lb.url, google }, plain, email, 'Plain App', {
      scope: 'openid email profile offline_access',
      prompt: 'consent',
    });
    const offline = await client.tokenIntrospection(plain.config, plainTokens.refresh_token ?? '');
    assert.match(String(offline.scope), /\boffline_access\b/, 'an offline_access grant');
    const sub = String(sloTokens.claims()?.sub);
    assert.equal(plainTokens.claims()?.sub, sub, 'one SSO session: the same user at both apps');

    // Everything works, on both instances (and each has verified the cookies once: cached).
    for (const instance of [0, 1]) {
      assert.equal(await authCheck(instance, a, cookies.a), 202);
      assert.equal(await authCheck(instance, b, cookies.b), 202);
      lb.use(instance);
      assert.equal((await client.tokenIntrospection(slo.config, sloTokens.access_token)).active, true);
      assert.equal((await client.tokenIntrospection(plain.config, plainTokens.access_token)).active, true);
    }
    return {
      browser,
      sub,
      tokens: { slo: sloTokens, plain: plainTokens },
      sloSid: sloTokens.claims()?.['sid'],
      accessTokens: [sloTokens.access_token, plainTokens.access_token],
      cookies,
    };
  }

  /** The outcome every path must have. `told` is how many logout tokens had arrived before the path. */
  async function assertEverythingEnded(user: SignedIn, told: number): Promise<void> {
    const { a, b } = origins();
    // Forward auth: both domains' cookies refused on both instances (within moments on the other).
    for (const instance of [0, 1])
      for (const [origin, cookie] of [
        [a, user.cookies.a],
        [b, user.cookies.b],
      ] as const) {
        let status = 0;
        for (let i = 0; i < 100 && status !== 401; i += 1) {
          status = await authCheck(instance, origin, cookie);
          if (status !== 401) await sleep(20);
        }
        assert.equal(status, 401, `instance ${instance} refuses the ${new URL(origin).hostname} cookie`);
      }

    // Both apps: refresh refused, every token inactive, on both instances.
    for (const instance of [0, 1]) {
      lb.use(instance);
      for (const [app, tokens] of [
        [slo, user.tokens.slo],
        [plain, user.tokens.plain],
      ] as const) {
        assert.deepEqual(await client.tokenIntrospection(app.config, tokens.refresh_token ?? ''), { active: false });
        for (const token of user.accessTokens)
          assert.equal((await client.tokenIntrospection(app.config, token)).active, false);
      }
    }
    lb.use(0);
    await assert.rejects(client.refreshTokenGrant(slo.config, user.tokens.slo.refresh_token ?? ''), {
      error: 'invalid_grant',
    });
    lb.use(1);
    await assert.rejects(client.refreshTokenGrant(plain.config, user.tokens.plain.refresh_token ?? ''), {
      error: 'invalid_grant',
    });

    // One logout token to the app that asked for them, valid (Back-Channel Logout 1.0 §2.4), and
    // only one, whoever ended what first.
    for (let i = 0; i < 150 && receiver.received.length <= told; i += 1) await sleep(20);
    await sleep(300);
    assert.equal(receiver.received.length, told + 1, 'one logout token');
    const jwks = createLocalJWKSet((await (await fetch(`${lb.url}/jwks`)).json()) as { keys: [] });
    const { payload } = await jwtVerify(receiver.received.at(-1) ?? '', jwks, {
      issuer: lb.url,
      audience: sloMeta.client_id,
      typ: 'logout+jwt',
    });
    assert.deepEqual(payload['events'], { 'http://schemas.openid.net/event/backchannel-logout': {} });
    assert.equal(payload.sub, user.sub);
    assert.ok(user.sloSid);
    assert.equal(payload['sid'], user.sloSid);
    assert.ok(payload.jti && payload.iat, 'jti and iat');
    assert.equal(payload['nonce'], undefined);

    // The SSO session is over: the next sign-in goes back to Google.
    lb.use(0);
    const again = await user.browser.follow((await startAuthorization(slo)).url, atGoogle);
    assert.ok(again.location, 'the next sign-in goes to Google');
  }

  it('forward-auth sign-out (/oauth2/sign_out)', async () => {
    const user = await signInEverywhere('fa-out@example.com');
    const told = receiver.received.length;
    lb.use(1);
    const signOut = await user.browser.fetch(`${origins().a}/oauth2/sign_out`);
    assert.equal(signOut.status, 302);
    await assertEverythingEnded(user, told);
  });

  it('RP-initiated logout (/session/end) from one app', async () => {
    const user = await signInEverywhere('rp-out@example.com');
    const told = receiver.received.length;
    lb.use(1);
    await logOut(user.browser, slo, user.tokens.slo.id_token ?? '');
    await assertEverythingEnded(user, told);
  });

  it("an operator's sign-out (npx gateway users sign-out), from a process of its own", async () => {
    const user = await signInEverywhere('cli-out@example.com');
    const told = receiver.received.length;
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      // The gateways' settings, as an operator runs the CLI next to them.
      const child = spawn(process.execPath, ['bin/gateway.ts', 'users', 'sign-out', user.sub, '--json'], {
        env: {
          PATH: process.env['PATH'] ?? '',
          GATEWAY_STORE: storeUrl,
          GATEWAY_SECRETS: TEST_SECRET,
          GATEWAY_ISSUER: lb.url,
          ...env,
        },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    assert.equal(result.code, 0, result.stderr);
    assert.equal(receiver.received.length, told + 1, 'the logout token was delivered before the command ended');
    assert.deepEqual(JSON.parse(result.stdout), {
      sessions: 1,
      grants: 3, // both apps' and forward auth's
      forwardAuthSessions: 2,
      backchannelLogouts: 1,
    });
    await assertEverythingEnded(user, told);
  });

  it('a refresh token reused after the grace', async () => {
    const user = await signInEverywhere('reuse@example.com');
    const told = receiver.received.length;
    lb.use(0);
    const rotated = await client.refreshTokenGrant(slo.config, user.tokens.slo.refresh_token ?? '');
    await sleep(REFRESH_GRACE_SECONDS * 1000 + 300);
    lb.use(1);
    await assert.rejects(client.refreshTokenGrant(slo.config, user.tokens.slo.refresh_token ?? ''), {
      error: 'invalid_grant',
    });
    user.accessTokens.push(rotated.access_token);
    // The app's own latest refresh token must die with the session, not only the reused one.
    user.tokens.slo = rotated;
    await assertEverythingEnded(user, told);
  });
});
