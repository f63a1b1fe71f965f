/**
 * Several upstreams at once (GATEWAY_UPSTREAMS): staff at a Google-like IdP, partners at another
 * OpenID Provider, each a fake that behaves like the real one, each with its own callback and
 * policy. An app signs users in through the gateway with openid-client; the sign-in page lets the
 * user choose, `upstream=<id>` skips it, and each upstream's users get accounts of their own.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { type FakeGoogle, signInAtFakeGoogle, startFakeGoogle } from './helpers/fake-google.ts';
import { confidentialClient, discoverApp, redeem, startAuthorization, type TestApp } from './helpers/relying-party.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

describe('several upstreams (GATEWAY_UPSTREAMS)', () => {
  let gw: StartedGateway;
  let staffIdp: FakeGoogle;
  let partnerIdp: FakeGoogle;
  let app: TestApp;
  const meta = confidentialClient('multi-app');
  // An app for partners only (operator-only metadata, as first_party is).
  const partnersOnly = confidentialClient('partners-app', { allowed_upstreams: ['partners'] });

  before(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const client = (id: string) => ({
      client_id: `${id}-client`,
      client_secret: `${id}-secret-0123456789abcdef`,
      redirect_uris: [`${issuer}/upstream/${id}/callback`],
    });
    staffIdp = await startFakeGoogle({ clients: [client('staff')] });
    partnerIdp = await startFakeGoogle({ clients: [client('partners')] });
    const upstream = (id: string, type: string, idp: FakeGoogle, extra: object) => ({
      id,
      type,
      issuer: idp.issuer,
      client_id: `${id}-client`,
      client_secret: `${id}-secret-0123456789abcdef`,
      ...extra,
    });
    gw = await startGateway({
      port,
      clients: [meta, partnersOnly],
      env: {
        // The shorthand's client is the helper's default: GATEWAY_UPSTREAMS replaces it.
        UPSTREAM_CLIENT_ID: '',
        UPSTREAM_CLIENT_SECRET: '',
        GATEWAY_UPSTREAM_RECHECK_INTERVAL: '0',
        GATEWAY_UPSTREAMS: JSON.stringify([
          upstream('staff', 'google', staffIdp, { name: 'Staff (Google)' }),
          upstream('partners', 'oidc', partnerIdp, {
            name: 'Partner <Login>',
            allowed_email_domains: ['partner.example'],
          }),
        ]),
      },
    });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => {
    await gw?.close();
    await staffIdp?.close();
    await partnerIdp?.close();
  });

  /** Starts an app's sign-in; returns where the browser stops (the sign-in page, or an upstream). */
  async function begin(browser: Browser, extra: Record<string, string> = {}) {
    const start = await startAuthorization(app, extra);
    const hop = await browser.follow(start.url, (url) => url.origin !== new URL(gw.issuer).origin);
    return { start, hop };
  }

  /** Signs in at `idp` from the redirect `at`, back through the gateway to the app; the token response. */
  async function finish(
    browser: Browser,
    start: Awaited<ReturnType<typeof startAuthorization>>,
    at: URL,
    email: string,
  ) {
    const back = await signInAtFakeGoogle(at.href, (url, init) => browser.fetch(url, init), { email, name: 'Kim' });
    const hop = await browser.follow(back, (url) => url.href.startsWith(meta.redirect_uris[0] ?? ''));
    assert.ok(hop.location, `no code for the app: HTTP ${hop.response.status}`);
    return redeem(app, start, hop.location);
  }

  it('lists the upstreams on the sign-in page, in English and Korean, with nothing remote on it', async () => {
    const browser = createBrowser();
    const { hop } = await begin(browser);
    assert.equal(hop.response.status, 200);
    const page = await hop.response.text();
    const links = [...page.matchAll(/<a class="button" href="([^"]+)">([^<]+)<\/a>/g)].map((m) => [m[1], m[2]]);
    assert.equal(links.length, 2);
    assert.match(links[0]?.[0] ?? '', /^\/interaction\/[^/]+\/upstream\/staff$/);
    assert.equal(links[0]?.[1], 'Continue with Staff (Google)');
    assert.equal(links[1]?.[1], 'Continue with Partner &lt;Login&gt;', 'names are escaped');
    assert.doesNotMatch(page, /<script|<img|https?:\/\/(?!127\.0\.0\.1)/);
    assert.match(page, /<html lang="en">/);

    const korean = createBrowser();
    const start = await startAuthorization(app);
    const first = await korean.fetch(start.url, { redirect: 'manual' });
    const interaction = new URL(first.headers.get('location') ?? '', gw.issuer);
    const ko = await korean.fetch(interaction, { headers: { 'accept-language': 'ko-KR,ko;q=0.9' } });
    const text = await ko.text();
    assert.match(text, /<html lang="ko">/);
    assert.match(text, /Staff \(Google\)\(으\)로 계속하기/);
  });

  it('signs a partner in through the chosen upstream, and staff through theirs, as two accounts', async () => {
    const partner = createBrowser();
    const { start, hop } = await begin(partner);
    const link = /href="(\/interaction\/[^"]+\/upstream\/partners)"/.exec(await hop.response.text())?.[1];
    assert.ok(link);
    const toPartnerIdp = await partner.follow(new URL(link, gw.issuer), (url) => url.origin === partnerIdp.issuer);
    assert.ok(toPartnerIdp.location?.href.startsWith(partnerIdp.issuer), 'sent to the partner IdP');
    assert.equal(
      toPartnerIdp.location?.searchParams.get('redirect_uri'),
      `${gw.issuer}/upstream/partners/callback`,
      "that upstream's own callback",
    );
    const partnerTokens = await finish(partner, start, toPartnerIdp.location, 'kim@partner.example');
    const partnerClaims = partnerTokens.claims();

    // The same e-mail at the staff IdP is another identity: never linked by e-mail.
    const staffBefore = staffIdp.idp.counters.authorization;
    const staff = createBrowser();
    const viaStaff = await begin(staff, { upstream: 'staff' });
    const atStaff = viaStaff.hop.location;
    assert.ok(atStaff, 'upstream=staff skipped the page');
    assert.equal(atStaff.origin, new URL(staffIdp.issuer).origin);
    const staffTokens = await finish(staff, viaStaff.start, atStaff, 'kim@partner.example');
    assert.equal(staffIdp.idp.counters.authorization, staffBefore + 1);
    const staffClaims = staffTokens.claims();
    assert.ok(partnerClaims?.sub && staffClaims?.sub);
    assert.notEqual(partnerClaims.sub, staffClaims.sub, 'two upstream identities, two accounts');
    assert.notEqual(partnerClaims['preferred_username'], staffClaims['preferred_username'], 'user names stay unique');

    // A refresh re-checks the user at their own upstream, not at another one.
    const partnerUserinfo = partnerIdp.idp.counters.userinfo;
    const staffUserinfo = staffIdp.idp.counters.userinfo;
    await client.refreshTokenGrant(app.config, partnerTokens.refresh_token ?? '');
    assert.equal(partnerIdp.idp.counters.userinfo, partnerUserinfo + 1);
    assert.equal(staffIdp.idp.counters.userinfo, staffUserinfo);
  });

  it("applies each upstream's own policy: a partner upstream admits only its domain", async () => {
    const browser = createBrowser();
    const { hop } = await begin(browser, { upstream: 'partners' });
    assert.ok(hop.location);
    const back = await signInAtFakeGoogle(hop.location.href, (url, init) => browser.fetch(url, init), {
      email: 'intruder@elsewhere.example',
    });
    const refused = await browser.fetch(back, { headers: { accept: 'text/html' } });
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /e-mail domain|domain/i);
  });

  it('tells the app when upstream= names no upstream, and /oauth2/start too', async () => {
    const browser = createBrowser();
    const { hop } = await begin(browser, { upstream: 'nope' });
    const at = hop.location ?? new URL(hop.url);
    assert.ok(at.href.startsWith(meta.redirect_uris[0] ?? ''), `answered to the app: ${at.href}`);
    assert.equal(at.searchParams.get('error'), 'invalid_request');
    assert.match(at.searchParams.get('error_description') ?? '', /upstream names no configured identity provider/);

    const start = await fetch(`${gw.url}/oauth2/start?rd=/&upstream=%3Cscript%3E`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    assert.equal(start.status, 400);
    const page = await start.text();
    assert.doesNotMatch(page, /<script>/, 'the unknown id is escaped');
    assert.match(page, /known: staff, partners/);
    // As /auth does: a repeated one is refused, an empty one leaves the choice to the page.
    const twice = await fetch(`${gw.url}/oauth2/start?rd=/&upstream=staff&upstream=partners`, { redirect: 'manual' });
    assert.equal(twice.status, 400);
    assert.match(await twice.text(), /more than once/);
    const empty = await fetch(`${gw.url}/oauth2/start?rd=/&upstream=`, { redirect: 'manual' });
    assert.equal(empty.status, 302, 'on to the sign-in page');
    assert.doesNotMatch(empty.headers.get('location') ?? '', /upstream=/);
  });

  it('keeps an app with allowed_upstreams to its upstreams, even for a user signed in elsewhere', async () => {
    const partnerApp = await discoverApp(gw.issuer, partnersOnly);
    const toApp = (url: URL) => url.href.startsWith(partnersOnly.redirect_uris[0] ?? '');
    // Only one upstream is offered to it: no page, straight to the partner IdP.
    const browser = createBrowser();
    const first = await startAuthorization(partnerApp);
    const hop = await browser.follow(first.url, (url) => url.origin !== new URL(gw.issuer).origin);
    assert.equal(hop.location?.origin, new URL(partnerIdp.issuer).origin);
    // Naming another upstream is the app's mistake, told to the app.
    const named = await startAuthorization(partnerApp, { upstream: 'staff' });
    const refused = await createBrowser().follow(named.url, toApp);
    assert.equal(refused.location?.searchParams.get('error'), 'invalid_request');
    assert.match(refused.location?.searchParams.get('error_description') ?? '', /may not sign users in through staff/);

    // Signed in through staff for another app, the same browser gets no code for this one: it
    // is sent to sign in at the partner IdP.
    const staffUser = createBrowser();
    const viaStaff = await begin(staffUser, { upstream: 'staff' });
    assert.ok(viaStaff.hop.location);
    await finish(staffUser, viaStaff.start, viaStaff.hop.location, 'lee@partner.example');
    const sso = await startAuthorization(partnerApp);
    const next = await staffUser.follow(sso.url, (url) => toApp(url) || url.origin !== new URL(gw.issuer).origin);
    assert.ok(!next.location || !toApp(next.location), 'no code for a session of another upstream');
    assert.equal(next.location?.origin, new URL(partnerIdp.issuer).origin);
    // The choice page cannot be used to reach an upstream the app does not accept.
    const interaction = await staffUser.fetch(sso.url, { redirect: 'manual' });
    const uid = /\/interaction\/([^/?]+)/.exec(interaction.headers.get('location') ?? '')?.[1];
    assert.ok(uid);
    const sneaky = await staffUser.fetch(`${gw.issuer}/interaction/${uid}/upstream/staff`, {
      headers: { accept: 'text/html' },
      redirect: 'manual',
    });
    assert.equal(sneaky.status, 404);
  });

  it("refuses a sign-in answer at another upstream's callback (mix-up)", async () => {
    const browser = createBrowser();
    const { hop } = await begin(browser, { upstream: 'staff' });
    assert.ok(hop.location);
    const state = hop.location.searchParams.get('state') ?? '';
    // The staff IdP's answer, delivered to the partners' callback with this browser's state cookie.
    const tokenRequests = partnerIdp.idp.counters.token;
    const mixedUp = await fetch(`${gw.url}/upstream/partners/callback?code=x&state=${state}`, {
      headers: { cookie: `gw_upstream=${state}`, accept: 'text/html' },
    });
    assert.equal(mixedUp.status, 400);
    assert.match(await mixedUp.text(), /came back to the wrong place/);
    assert.equal(partnerIdp.idp.counters.token, tokenRequests, 'no code was sent to the partner IdP');
  });
});
