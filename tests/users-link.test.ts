/**
 * `npx gateway users link SUB UPSTREAM_ID:UPSTREAM_SUB` against a running gateway with two
 * upstreams on an SQLite store it shares with the CLI: the same person through two upstreams is
 * two accounts until an operator links them, and a linked identity then signs in as the one
 * account (one `sub`, one user name). Never on an e-mail match, and never an identity that
 * already has an account of its own.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { defaultSubject } from '../gateway/dev/account-store.ts';
import { createBrowser } from './helpers/browser.ts';
import { signInWithConsent } from './helpers/consent.ts';
import { type FakeGoogle, type FakeGoogleIdentity, startFakeGoogle } from './helpers/fake-google.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  redeem,
  startAuthorization,
  type TestApp,
} from './helpers/relying-party.ts';
import { freePort, startGateway, TEST_SECRET, type StartedGateway } from './helpers/start-gateway.ts';

/** RFC 8693 §2.1 at the gateway: `client` exchanges its access token for an upstream token. */
async function exchangeFor(
  issuer: string,
  client: { client_id: string; client_secret: string },
  subjectToken: string,
  audience?: string,
) {
  const basic = Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64');
  const response = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      ...(audience === undefined ? {} : { audience }),
    }),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('npx gateway users link', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-users-link-'));
  const store = `sqlite://${join(dir, 'gateway.sqlite')}`;
  let gw: StartedGateway;
  let staff: FakeGoogle;
  let partners: FakeGoogle;
  let app: TestApp;
  let upstreams: string;
  const meta = confidentialClient('link-app');
  const partnersOnly = confidentialClient('partners-only', { allowed_upstreams: ['partners'] });
  const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
  const exchanger = confidentialClient('exchanger', {
    client_name: 'Calendar sync',
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
  });
  // The same, kept to the staff upstream by the operator.
  const staffExchanger = confidentialClient('staff-exchanger', {
    client_name: 'Staff sync',
    grant_types: ['authorization_code', 'refresh_token', TOKEN_EXCHANGE],
    allowed_upstreams: ['staff'],
  });

  before(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const idp = (id: string) =>
      startFakeGoogle({
        clients: [
          { client_id: id, client_secret: `${id}-secret`, redirect_uris: [`${issuer}/upstream/${id}/callback`] },
        ],
      });
    staff = await idp('staff');
    partners = await idp('partners');
    upstreams = JSON.stringify(
      [
        ['staff', staff],
        ['partners', partners],
      ].map(([id, fake]) => ({
        id,
        type: 'oidc',
        issuer: (fake as FakeGoogle).issuer,
        client_id: id,
        client_secret: `${id}-secret`,
      })),
    );
    gw = await startGateway({
      port,
      clients: [meta, partnersOnly, exchanger, staffExchanger],
      env: {
        GATEWAY_STORE: store,
        UPSTREAM_CLIENT_ID: '',
        UPSTREAM_CLIENT_SECRET: '',
        GATEWAY_UPSTREAMS: upstreams,
        // Every refresh re-checks the user: which upstream it asks is what is tested below.
        GATEWAY_UPSTREAM_RECHECK_INTERVAL: '0',
      },
    });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => {
    await gw?.close();
    await staff?.close();
    await partners?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The CLI where the gateway's settings are: its store, secrets, issuer and upstreams. */
  function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const env = {
        PATH: process.env['PATH'] ?? '',
        GATEWAY_STORE: store,
        GATEWAY_SECRETS: TEST_SECRET,
        GATEWAY_ISSUER: gw.issuer,
        GATEWAY_UPSTREAMS: upstreams,
      };
      const child = spawn(process.execPath, ['bin/gateway.ts', 'users', 'link', ...args], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  /** The app's ID token claims after `identity` signed in at `upstream`. */
  async function signInAt(upstream: FakeGoogle, id: string, identity: FakeGoogleIdentity) {
    const start = await startAuthorization(app, { upstream: id });
    const { callback } = await authorizeInBrowser(createBrowser(), app, start, upstream.issuer, identity);
    assert.ok(callback, `signed in at ${id}`);
    const claims: Record<string, unknown> = (await redeem(app, start, callback)).claims() ?? {};
    return claims;
  }

  it('keeps two upstream identities apart until linked, then signs both in as one account', async () => {
    const atStaff = await signInAt(staff, 'staff', { email: 'kim@example.com', sub: 'staff-kim' });
    const before = await signInAt(partners, 'partners', { email: 'kim@example.com', sub: 'partner-kim' });
    assert.notEqual(before['sub'], atStaff['sub'], 'the same e-mail is not the same person');

    // The partner identity already has an account (made above): it stays with it.
    const taken = await cli([String(atStaff['sub']), 'partners:partner-kim']);
    assert.equal(taken.code, 1);
    assert.match(taken.stderr, new RegExp(`already signs in as account ${before['sub']}`));

    // A partner identity without an account yet is linked, and then signs in as the staff account.
    const linked = await cli([String(atStaff['sub']), 'partners:partner-kim-2']);
    assert.equal(linked.code, 0, linked.stderr);
    assert.match(linked.stdout, /linked: partners:partner-kim-2 now signs in as/);
    assert.match(linked.stderr, /"audit":"account.linked"/);
    const after = await signInAt(partners, 'partners', { email: 'kim@partner.example', sub: 'partner-kim-2' });
    assert.equal(after['sub'], atStaff['sub'], 'one sub');
    assert.equal(after['preferred_username'], atStaff['preferred_username'], 'one user name');
    assert.equal(after['email'], 'kim@partner.example', 'the profile of the latest sign-in');
  });

  it("judges an app's allowed_upstreams by the upstream of this browser's session, not the account's latest", async () => {
    // Browser 1 signs in through staff; the account is linked to a partner identity, which
    // browser 2 then signs in with: the account's latest upstream is now partners.
    const first = createBrowser();
    const start = await startAuthorization(app, { upstream: 'staff' });
    const signed = await authorizeInBrowser(first, app, start, staff.issuer, {
      email: 'two@example.com',
      sub: 'staff-two',
    });
    assert.ok(signed.callback);
    const sub = String((await redeem(app, start, signed.callback)).claims()?.sub);
    assert.equal((await cli([sub, 'partners:partner-two'])).code, 0);
    const second = createBrowser();
    const viaPartner = await startAuthorization(app, { upstream: 'partners' });
    const other = await authorizeInBrowser(second, app, viaPartner, partners.issuer, {
      email: 'two@partner.example',
      sub: 'partner-two',
    });
    assert.ok(other.callback);
    assert.equal((await redeem(app, viaPartner, other.callback)).claims()?.sub, sub);

    const partnerApp = await discoverApp(gw.issuer, partnersOnly);
    const toApp = (url: URL) => url.href.startsWith(partnersOnly.redirect_uris[0] ?? '');
    const fromFirst = await first.follow(
      (await startAuthorization(partnerApp)).url,
      (url) => toApp(url) || url.origin === new URL(partners.issuer).origin,
    );
    assert.equal(fromFirst.location?.origin, new URL(partners.issuer).origin, "browser 1's staff session gets no code");
    const fromSecond = await second.follow(
      (await startAuthorization(partnerApp)).url,
      (url) => toApp(url) || url.origin === new URL(partners.issuer).origin,
    );
    assert.ok(fromSecond.location && toApp(fromSecond.location), "browser 2's partner session does");
  });

  it("keeps a linked account's tokens at each upstream apart, and exchanges the one the app names", async () => {
    const exchangerApp = await discoverApp(gw.issuer, exchanger);
    const withUpstreamToken = (upstream: string) => ({ upstream, scope: 'openid email profile upstream_token' });
    const atStaff = await signInWithConsent(
      createBrowser(),
      { issuer: gw.issuer, google: { issuer: staff.issuer } },
      exchangerApp,
      'lee@example.com',
      'Calendar sync',
      withUpstreamToken('staff'),
    );
    const sub = String(atStaff.claims()?.sub);
    assert.equal((await cli([sub, `partners:${defaultSubject('lee@partner.example')}`])).code, 0);
    const atPartners = await signInWithConsent(
      createBrowser(),
      { issuer: gw.issuer, google: { issuer: partners.issuer } },
      exchangerApp,
      'lee@partner.example',
      'Calendar sync',
      withUpstreamToken('partners'),
    );
    assert.equal(atPartners.claims()?.sub, sub, 'one account');

    // Each upstream's tokens under its own name: the partners sign-in did not replace staff's.
    const vaultOf = (id: string) => gw.app.gateway.upstreams.byId(id)?.vault;
    const staffTokens = await vaultOf('staff')?.load(sub);
    const partnerTokens = await vaultOf('partners')?.load(sub);
    assert.ok(staffTokens && partnerTokens, 'tokens at both');
    assert.notEqual(staffTokens.access_token, partnerTokens.access_token);

    const exchange = (audience?: string) => exchangeFor(gw.issuer, exchanger, atStaff.access_token, audience);
    const named = async (audience: string, fake: FakeGoogle) => {
      const answer = await exchange(audience);
      assert.equal(answer.status, 200, JSON.stringify(answer.body));
      const me = await fetch(`${fake.issuer}/me`, {
        headers: { authorization: `Bearer ${answer.body['access_token']}` },
      });
      assert.equal(me.status, 200, `the token of ${audience} works at that upstream`);
      return answer.body['access_token'];
    };
    assert.equal(await named('upstream:staff', staff), staffTokens.access_token);
    assert.equal(await named('upstream:partners', partners), partnerTokens.access_token);
    // By default, the upstream the subject token's sign-in went through (its `amr`), not the
    // account's latest sign-in (partners, since).
    assert.equal((await exchange()).body['access_token'], staffTokens.access_token);
    const unknown = await exchange('upstream:nope');
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body['error'], 'invalid_target');

    // A client the operator kept to staff gets staff's token, never partners', even for a linked account.
    const staffApp = await discoverApp(gw.issuer, staffExchanger);
    const staffSession = await signInWithConsent(
      createBrowser(),
      { issuer: gw.issuer, google: { issuer: staff.issuer } },
      staffApp,
      'lee@example.com',
      'Staff sync',
      withUpstreamToken('staff'),
    );
    const exchangeAs = (audience?: string) =>
      exchangeFor(gw.issuer, staffExchanger, staffSession.access_token, audience);
    // (That sign-in at staff replaced the staff tokens.)
    assert.equal((await exchangeAs()).body['access_token'], (await vaultOf('staff')?.load(sub))?.access_token);
    const kept = await exchangeAs('upstream:partners');
    assert.equal(kept.status, 400);
    assert.equal(kept.body['error'], 'invalid_target');
    assert.match(String(kept.body['error_description']), /this client may use \(upstream:staff\)/);

    // An upstream the account never signed in through holds no tokens: invalid_grant, not another's token.
    await vaultOf('staff')?.remove(sub);
    const gone = await exchange('upstream:staff');
    assert.equal(gone.status, 400);
    assert.equal(gone.body['error'], 'invalid_grant');
  });

  it("re-checks a refresh at the upstream of its own sign-in, not the linked account's latest", async () => {
    const viaStaff = await signInAt(staff, 'staff', { email: 'park@example.com', sub: 'staff-park' });
    const sub = String(viaStaff['sub']);
    // signInAt returns the claims: sign in again for the tokens of that staff session.
    const start = await startAuthorization(app, { upstream: 'staff' });
    const signed = await authorizeInBrowser(createBrowser(), app, start, staff.issuer, {
      email: 'park@example.com',
      sub: 'staff-park',
    });
    assert.ok(signed.callback);
    const staffTokens = await redeem(app, start, signed.callback);
    assert.equal((await cli([sub, 'partners:partner-park'])).code, 0);
    const partnerStart = await startAuthorization(app, { upstream: 'partners' });
    const viaPartner = await authorizeInBrowser(createBrowser(), app, partnerStart, partners.issuer, {
      email: 'park@partner.example',
      sub: 'partner-park',
    });
    assert.ok(viaPartner.callback);
    const partnerTokens = await redeem(app, partnerStart, viaPartner.callback);
    assert.equal(partnerTokens.claims()?.sub, sub);

    // Staff ends the user's grant there; the partner identity is fine. The staff session's
    // refresh ends (its upstream no longer backs it), the partner session's goes on.
    await staff.idp.revokeUserGrants('staff-park');
    const staffRefreshes = staff.idp.counters.refresh;
    await assert.rejects(
      client.refreshTokenGrant(app.config, staffTokens.refresh_token ?? ''),
      (error: unknown) => (error as { error?: string }).error === 'invalid_grant',
    );
    assert.ok(staff.idp.counters.refresh > staffRefreshes, 'asked at staff, whose grant is gone');
    const partnerRefresh = await client.refreshTokenGrant(app.config, partnerTokens.refresh_token ?? '');
    assert.equal(partnerRefresh.claims()?.sub, sub);
    // The refused grant is over: its refresh token does not come back to life.
    await assert.rejects(
      client.refreshTokenGrant(app.config, staffTokens.refresh_token ?? ''),
      (error: unknown) => (error as { error?: string }).error === 'invalid_grant',
    );
  });

  it('names the upstream whose token the consent page asks to hand out, in both languages', async () => {
    const exchangerApp = await discoverApp(gw.issuer, exchanger);
    const browser = createBrowser();
    const start = await startAuthorization(exchangerApp, {
      upstream: 'partners',
      scope: 'openid email upstream_token',
    });
    const first = await authorizeInBrowser(browser, exchangerApp, start, partners.issuer, {
      email: 'named@partner.example',
    });
    assert.equal(first.callback, undefined, 'the consent page first');
    const english = (await first.page?.text()) ?? '';
    assert.match(english, /Your access token at partners, to use its services as you/);
    const korean = await (await browser.fetch(first.page?.url ?? '', { headers: { 'accept-language': 'ko' } })).text();
    assert.match(korean, /partners의 액세스 토큰/);
  });

  it('says what is wrong with an unknown upstream, account or identity', async () => {
    const unknownUpstream = await cli(['some-sub', 'nope:1']);
    assert.equal(unknownUpstream.code, 1);
    assert.match(unknownUpstream.stderr, /no upstream with id "nope" \(configured: staff, partners\)/);
    const unknownAccount = await cli(['no-such-sub', 'partners:1']);
    assert.equal(unknownAccount.code, 1);
    assert.match(unknownAccount.stderr, /no account with sub "no-such-sub"/);
    const impossible = await cli(['some-sub', 'partners:has space']);
    assert.equal(impossible.code, 1);
    assert.match(impossible.stderr, /can never sign in: a subject has no spaces/);
    const malformed = await cli(['some-sub', 'partners']);
    assert.equal(malformed.code, 2);
    assert.match(malformed.stderr, /UPSTREAM_ID:UPSTREAM_SUB/);
  });
});
