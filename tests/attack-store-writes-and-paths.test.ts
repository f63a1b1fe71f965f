/**
 * Two attacks on the OpenID Provider's endpoints that go around the gateway's rules:
 *
 * - unauthenticated store writes: an authorization request with a huge `state`, or thousands of
 *   them from one address, each kept as an interaction; `/request` (PAR) keeping 67 KB a request;
 * - other spellings of a route (`/Token`, `/token/`, `/TOKEN/INTROSPECTION`), which oidc-provider's
 *   router serves too, so a rule keyed on the path must see them: a refresh token replayed after
 *   the grace through `/Token/` must still end the session, and failures there still count.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { canonicalProviderPath } from '../gateway/provider/provider-routes.ts';
import { createBrowser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { auditEvents, startLoggedGateway, type LoggedGateway } from './helpers/logged-gateway.ts';
import { confidentialClient, discoverApp, signIn, startAuthorization, type TestApp } from './helpers/relying-party.ts';

describe('provider paths in other spellings are the same route to every rule', () => {
  it('brings each spelling oidc-provider accepts to its canonical path, and leaves the rest alone', () => {
    const cases: Array<[string, string | undefined]> = [
      ['/Token', '/token'],
      ['/token/', '/token'],
      ['/TOKEN/INTROSPECTION/', '/token/introspection'],
      ['/REG', '/reg'],
      ['/Reg/Some-Client', '/reg/Some-Client'],
      ['/AUTH/uid-Abc/', '/auth/uid-Abc'],
      ['/Session/End/Confirm', '/session/end/confirm'],
      ['/.WELL-KNOWN/openid-configuration', '/.well-known/openid-configuration'],
      ['/me', '/me'],
      ['/token//', undefined],
      ['/%74oken', undefined],
      ['/tokens', undefined],
      ['/oauth2/auth', undefined],
      ['/ſession/end', undefined],
    ];
    for (const [path, canonical] of cases) assert.equal(canonicalProviderPath(path), canonical, path);
  });
});

const REGISTRATION_TOKEN = 'registration-token-0123456789abcdef0123456789';

describe("attacks around the provider's routes, with the shipped defaults", () => {
  let gw: LoggedGateway;
  let app: TestApp;
  const meta = confidentialClient('spelling-app');
  const basic = `Basic ${Buffer.from(`${meta.client_id}:${meta.client_secret}`).toString('base64')}`;

  before(async () => {
    gw = await startLoggedGateway({
      clients: [meta],
      env: { GATEWAY_REFRESH_GRACE: '1', GATEWAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN },
    });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => gw?.close());

  const post = (path: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
    fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(body).toString(),
    });

  it('ends the session when a rotated refresh token comes back after the grace through /Token/', async () => {
    const browser = createBrowser();
    const start = await browser.follow(`${gw.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => browser.fetch(u, init), {
      email: 'replayer@example.com',
    });
    await browser.follow(back);
    assert.equal((await browser.fetch(`${gw.url}/oauth2/auth`)).status, 202);
    const tokens = await signIn(browser, app, gw.google.issuer, { email: 'unused@example.com' });
    const first = await post(
      '/Token/',
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' },
      { authorization: basic },
    );
    assert.equal(first.status, 200);
    await first.body?.cancel();
    await new Promise((resolve) => setTimeout(resolve, 1300));
    const replay = await post(
      '/TOKEN',
      { grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' },
      { authorization: basic },
    );
    assert.equal(replay.status, 400);
    await replay.body?.cancel();
    assert.ok(
      auditEvents(gw).some((event) => event.audit === 'refresh_token.reuse_detected'),
      'the reuse is an audit event',
    );
    assert.equal(
      (await browser.fetch(`${gw.url}/oauth2/auth`)).status,
      401,
      "and the session's forward-auth cookie is refused",
    );
  });

  it('counts failed client authentications whatever the spelling', async () => {
    const spellings = [
      '/token/introspection',
      '/Token/Introspection',
      '/TOKEN/INTROSPECTION/',
      '/token/introspection/',
    ];
    const statuses: number[] = [];
    for (let i = 0; i < 21; i += 1) {
      const response = await post(
        spellings[i % spellings.length] ?? '',
        { token: 'x' },
        {
          authorization: `Basic ${Buffer.from(`${meta.client_id}:wrong`).toString('base64')}`,
          'x-forwarded-for': '192.0.2.77',
        },
      );
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.deepEqual(statuses, [...Array.from({ length: 20 }, () => 401), 429]);
  });

  it('refuses an authorization request over 2 KiB before storing anything', async () => {
    const { url } = await startAuthorization(app, { state: 'x'.repeat(9_000) });
    const response = await fetch(url, { redirect: 'manual' });
    assert.equal(response.status, 400);
    assert.equal(response.headers.get('location'), null);
    assert.match(await response.text(), /longer than 2048 bytes/);
  });

  it('keeps no pushed authorization request: PAR is off', async () => {
    const response = await post(
      '/request',
      {
        client_id: meta.client_id,
        response_type: 'code',
        redirect_uri: meta.redirect_uris[0] ?? '',
        scope: 'openid',
        state: 'x'.repeat(60_000),
      },
      { authorization: basic },
    );
    assert.ok(response.status === 404 || response.status === 413, `HTTP ${response.status}`);
    await response.body?.cancel();
    const discovery = (await (await fetch(`${gw.url}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(discovery['pushed_authorization_request_endpoint'], undefined);
    assert.equal(discovery['dpop_signing_alg_values_supported'], undefined, 'DPoP is off too');
  });

  it("starts no sign-in for another site's <img> or script, and counts none", async () => {
    const { url } = await startAuthorization(app);
    const from = { 'x-forwarded-for': '192.0.2.87' };
    for (const [mode, dest] of [
      ['no-cors', 'image'],
      ['cors', 'empty'],
      ['no-cors', 'script'],
      ['no-cors', 'style'],
    ]) {
      const response = await fetch(url, {
        redirect: 'manual',
        headers: {
          ...from,
          'sec-fetch-mode': mode ?? '',
          'sec-fetch-dest': dest ?? '',
          'sec-fetch-site': 'cross-site',
        },
      });
      assert.equal(response.status, 400, `${mode} ${dest}`);
      await response.body?.cancel();
    }
    const page = await fetch(`${gw.url}/interaction/some-uid`, {
      redirect: 'manual',
      headers: { ...from, 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
    });
    assert.equal(page.status, 400);
    await page.body?.cancel();
    const counter = (await gw.app.gateway.store.get<number>('regulation:sign_in_steps|addr:192.0.2.87')) ?? 0;
    assert.equal(counter, 0, "nothing was counted against the visitor's address");
    const navigation = await fetch(url, {
      redirect: 'manual',
      headers: { ...from, 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document', 'sec-fetch-site': 'cross-site' },
    });
    assert.equal(navigation.status, 303, 'a real navigation from the app starts its sign-in');
    await navigation.body?.cancel();
  });

  it('keeps a registration under 16 KiB, and one address to 60 registrations an hour', async () => {
    const register = (body: object, address: string) =>
      fetch(`${gw.url}/reg`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${REGISTRATION_TOKEN}`,
          'x-forwarded-for': address,
        },
        body: JSON.stringify(body),
      });
    const huge = await register(
      { redirect_uris: ['https://app.example.com/cb'], client_name: 'x'.repeat(20_000) },
      '192.0.2.90',
    );
    assert.equal(huge.status, 413);
    assert.equal(((await huge.json()) as { error: string }).error, 'invalid_client_metadata');
    const statuses = new Map<number, number>();
    for (let i = 0; i < 61; i += 1) {
      const response = await register({ redirect_uris: [`https://app${i}.example.com/cb`] }, '192.0.2.91');
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      await response.body?.cancel();
    }
    assert.deepEqual(
      [...statuses],
      [
        [201, 60],
        [429, 1],
      ],
    );
    const signIn = await fetch((await startAuthorization(app)).url, {
      redirect: 'manual',
      headers: { 'x-forwarded-for': '192.0.2.91' },
    });
    assert.equal(signIn.status, 303, 'the address may still sign in: only registering is refused');
    await signIn.body?.cancel();
  });

  it('lets one address start 1,200 sign-ins a minute, and refuses the next until the minute ends', async () => {
    const from = { 'x-forwarded-for': '192.0.2.88' };
    const { url } = await startAuthorization(app);
    const statuses = new Map<number, number>();
    for (let i = 0; i < 1_200; i += 1) {
      const response = await fetch(url, { redirect: 'manual', headers: from });
      statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
      await response.body?.cancel();
    }
    assert.deepEqual([...statuses.keys()], [303], JSON.stringify([...statuses]));
    const over = await fetch(url, { redirect: 'manual', headers: from });
    assert.equal(over.status, 429);
    assert.ok(Number(over.headers.get('retry-after')) >= 1);
    assert.match(await over.text(), /Too many sign-ins/);
    const neighbour = await fetch(url, { redirect: 'manual', headers: { 'x-forwarded-for': '192.0.2.89' } });
    assert.equal(neighbour.status, 303, 'another address starts its sign-in');
    await neighbour.body?.cancel();
  });
});
