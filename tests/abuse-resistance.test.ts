/**
 * Abuse resistance: security headers on every page, CSRF tokens on every form, failure-based
 * limits on what an attacker guesses at (and none on forward auth), and request size and header
 * limits answered with 413/431, never a 500.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../config/load-config.ts';
import { buildGateway } from '../gateway/app/build-gateway.ts';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { auditEvents, metricValue, startLoggedGateway, type LoggedGateway } from './helpers/logged-gateway.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  signIn,
  startAuthorization,
  type TestApp,
} from './helpers/relying-party.ts';
import { freePort, startGateway } from './helpers/start-gateway.ts';

const REGISTRATION_TOKEN = 'registration-token-0123456789abcdef0123456789';

/** The directives of a Content-Security-Policy header. */
function csp(header: string | null): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  for (const part of (header ?? '').split(';')) {
    const [name = '', ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name, values);
  }
  return directives;
}

/** Asserts the page policy: nothing inline, no framing, nothing from elsewhere. */
function assertStrictPage(response: Response, html: string): void {
  const policy = csp(response.headers.get('content-security-policy'));
  assert.ok(!response.headers.get('content-security-policy')?.includes('unsafe-inline'), 'no unsafe-inline');
  assert.deepEqual(policy.get('frame-ancestors'), ["'none'"]);
  assert.deepEqual(policy.get('default-src'), ["'none'"]);
  assert.deepEqual(policy.get('style-src'), ["'self'"]);
  assert.equal(response.headers.get('x-frame-options'), 'DENY');
  assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
  assert.equal(response.headers.get('referrer-policy'), 'no-referrer');
  assert.doesNotMatch(html, /<style|<script|\sstyle=/i, 'no inline style or script');
  assert.match(html, /<link rel="stylesheet" href="\/assets\/gateway.css">/);
}

/** A raw HTTP request (undici refuses some of what an attacker sends). */
function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

/** A form post from `browser`, as a person's click sends it (a test adds other headers). */
const post = (browser: Browser, url: string, body: Record<string, string>, headers: Record<string, string> = {}) =>
  browser.fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', ...headers },
    body: new URLSearchParams(body).toString(),
  });

describe('security headers and CSRF', () => {
  let gw: LoggedGateway;
  const firstParty = confidentialClient('headers-app');
  const thirdParty = confidentialClient('shop', { first_party: false, client_name: 'The Shop' });
  let app: TestApp;
  let shop: TestApp;

  before(async () => {
    gw = await startLoggedGateway({ clients: [firstParty, thirdParty] });
    app = await discoverApp(gw.issuer, firstParty);
    shop = await discoverApp(gw.issuer, thirdParty);
  });
  after(async () => gw?.close());

  /** A browser at the consent page of the third-party client, and what it shows. */
  async function atConsent(
    email: string,
  ): Promise<{ browser: Browser; url: URL; response: Response; html: string; csrf: string }> {
    const browser = createBrowser();
    const start = await startAuthorization(shop);
    const { page } = await authorizeInBrowser(browser, shop, start, gw.google.issuer, { email });
    assert.ok(page, 'stopped at the consent page');
    const html = await page.text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? '';
    return { browser, url: new URL(page.url), response: page, html, csrf };
  }

  it('serves the consent page under a strict policy, its style from a stylesheet', async () => {
    const consent = await atConsent('strict@example.com');
    assert.equal(consent.response.status, 200);
    assertStrictPage(consent.response, consent.html);
    assert.equal(consent.response.headers.get('cache-control'), 'no-store');
    const css = await fetch(`${gw.url}/assets/gateway.css`);
    assert.equal(css.status, 200);
    assert.match(css.headers.get('content-type') ?? '', /^text\/css/);
  });

  it("puts the same headers on the gateway's other pages and on the OpenID Provider's", async () => {
    const signIn = await fetch(`${gw.url}/oauth2/sign_in?rd=/`, {
      redirect: 'manual',
      headers: { accept: 'text/html' },
    });
    assertStrictPage(signIn, await signIn.text());
    const notFound = await fetch(`${gw.url}/interaction/nope`, { headers: { accept: 'text/html' } });
    assert.equal(notFound.status, 400);
    assertStrictPage(notFound, await notFound.text());
    // An error oidc-provider renders itself (an unknown client cannot be redirected to).
    const providerError = await fetch(`${gw.url}/auth?client_id=nobody&response_type=code&scope=openid`, {
      headers: { accept: 'text/html' },
    });
    assert.equal(providerError.status, 400);
    assertStrictPage(providerError, await providerError.text());
    const discovery = await fetch(`${gw.url}/.well-known/openid-configuration`);
    assert.equal(discovery.headers.get('x-content-type-options'), 'nosniff');
    assert.match(discovery.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });

  it("answers a path no endpoint serves with problem+json, not Koa's text", async () => {
    const response = await fetch(`${gw.url}/no/such/path`);
    assert.equal(response.status, 404);
    assert.equal(response.headers.get('content-type'), 'application/problem+json');
    assert.equal(((await response.json()) as { title: string }).title, 'not_found');
  });

  it("lets only oidc-provider's own form_post script run, by its hash", async () => {
    const browser = createBrowser();
    await signIn(browser, app, gw.google.issuer, { email: 'formpost@example.com' });
    const start = await startAuthorization(app, { response_mode: 'form_post' });
    const page = await browser.fetch(start.url);
    assert.equal(page.status, 200);
    const html = await page.text();
    const script = /<script>([\s\S]*?)<\/script>/.exec(html)?.[1] ?? '';
    assert.match(html, /name="code"/);
    const policy = csp(page.headers.get('content-security-policy'));
    const hash = `'sha256-${createHash('sha256').update(script).digest('base64')}'`;
    assert.deepEqual(policy.get('script-src'), [hash], "exactly that script, and no 'none' beside it");
    assert.deepEqual(policy.get('frame-ancestors'), ["'none'"]);
  });

  it('sends HSTS only when the issuer is https, whatever X-Forwarded-Proto says', async () => {
    for (const path of ['/healthz', '/.well-known/openid-configuration']) {
      const plain = await fetch(`${gw.url}${path}`, { headers: { 'x-forwarded-proto': 'https' } });
      assert.equal(plain.headers.get('strict-transport-security'), null, `${path} of an http issuer`);
    }
    const secure = await startGateway({ issuer: 'https://login.hsts.test' });
    try {
      for (const path of ['/healthz', '/.well-known/openid-configuration']) {
        const response = await secure.app.inject({ url: path });
        assert.equal(response.headers['strict-transport-security'], 'max-age=31536000', path);
      }
    } finally {
      await secure.close();
    }
  });

  it('answers tokens with Cache-Control: no-store (RFC 6749 §5.1)', async () => {
    const meta = firstParty;
    const tokens = await signIn(createBrowser(), app, gw.google.issuer, { email: 'nostore@example.com' });
    const response = await fetch(`${gw.url}/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${meta.client_id}:${meta.client_secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token ?? '' }),
    });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get('cache-control'), 'no-store');
    const userinfo = await fetch(`${gw.url}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
    assert.equal(userinfo.headers.get('cache-control'), 'no-store');
  });

  it("refuses a consent post without the page's CSRF token, or from another site", async () => {
    const consent = await atConsent('csrf@example.com');
    assert.ok(consent.csrf.length >= 40, 'both forms carry the token');
    assert.equal(consent.html.match(/name="csrf"/g)?.length, 2);
    const confirm = `${consent.url.href}/confirm`;
    const noToken = await post(consent.browser, confirm, {});
    assert.equal(noToken.status, 403);
    assert.match(await noToken.text(), /did not come from this sign-in page/);
    const wrongToken = await post(consent.browser, confirm, {
      csrf: consent.csrf.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
    });
    assert.equal(wrongToken.status, 403);
    await wrongToken.body?.cancel();
    const crossSite = await post(consent.browser, confirm, { csrf: consent.csrf }, { 'sec-fetch-site': 'cross-site' });
    assert.equal(crossSite.status, 403);
    await crossSite.body?.cancel();
    const abort = await post(consent.browser, `${consent.url.href}/abort`, {});
    assert.equal(abort.status, 403);
    await abort.body?.cancel();
    // The person's own click: the token, from the same origin.
    const allowed = await post(consent.browser, confirm, { csrf: consent.csrf }, { 'sec-fetch-site': 'same-origin' });
    assert.equal(allowed.status, 303);
    await allowed.body?.cancel();
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.equal(metricValue(metrics, 'gateway_csrf_refusals_total', { form: 'consent' }), 4);
  });

  it('refuses a token made for another interaction', async () => {
    const one = await atConsent('one@example.com');
    const two = await atConsent('two@example.com');
    const response = await post(two.browser, `${two.url.href}/confirm`, { csrf: one.csrf });
    assert.equal(response.status, 403);
    await response.body?.cancel();
  });
});

/**
 * The forms of the development IdP that `npm start` mounts at /dev-idp (development mode: no
 * upstream configured), under the gateway's page policy and with the same CSRF defences.
 */
describe("the development IdP's forms", () => {
  let gateway: FastifyInstance;
  const devApp = confidentialClient('dev-forms-app');
  let app: TestApp;
  const atDevIdp = (url: URL) => url.pathname.startsWith('/dev-idp/');

  before(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    const loaded = loadConfig({
      GATEWAY_ISSUER: issuer,
      GATEWAY_PORT: String(port),
      GATEWAY_STORE: 'memory://',
      GATEWAY_LOG_LEVEL: 'silent',
    });
    assert.ok(loaded.ok && loaded.config.devMode, 'a development-mode gateway');
    gateway = await buildGateway(loaded.config, { clients: [devApp] });
    await gateway.listen({ host: '127.0.0.1', port });
    app = await discoverApp(issuer, devApp);
  });
  after(async () => gateway?.close());

  it("protects the development IdP's sign-in form the same way", async () => {
    const browser = createBrowser();
    const start = await startAuthorization(app);
    const toIdp = await browser.follow(start.url, atDevIdp);
    const { response: page } = await browser.follow(toIdp.location ?? '');
    const html = await page.text();
    assert.equal(page.status, 200);
    assertStrictPage(page, html);
    assert.match(html, /name="csrf" value="[^"]+"/);
    const action = new URL((/<form\b[^>]*\baction="([^"]*)"/.exec(html)?.[1] ?? '').replaceAll('&amp;', '&'), page.url);
    const forged = await post(browser, action.href, { email: 'mallory@example.com' });
    assert.equal(forged.status, 403);
    await forged.body?.cancel();
    // The form as the page gave it goes through.
    const back = await signInAtFakeGoogle(page.url, (url, init) => browser.fetch(url, init), {
      email: 'dev-csrf@example.com',
    });
    assert.match(back, /code=/);
  });

  it('refuses a development IdP cancel from another site, without the token, or by a plain GET', async () => {
    /** A browser at the development IdP's sign-in page, with the cancel form's action and token. */
    const atCancel = async () => {
      const browser = createBrowser();
      const toIdp = await browser.follow((await startAuthorization(app)).url, atDevIdp);
      const { response: page } = await browser.follow(toIdp.location ?? '');
      const html = await page.text();
      const forms = [
        ...html.matchAll(/<form\b[^>]*\baction="([^"]*)"[^>]*>\s*<input type="hidden" name="csrf" value="([^"]+)">/g),
      ];
      const cancel = forms.find((form) => form[1]?.endsWith('/abort'));
      assert.ok(cancel, 'the cancel form carries the token');
      return { browser, page, abort: new URL(cancel[1] ?? '', page.url).href, csrf: cancel[2] ?? '' };
    };
    const refused = async (response: Response, status: number, what: string) => {
      assert.equal(response.status, status, what);
      assert.equal(response.headers.get('location'), null, what);
      await response.body?.cancel();
    };

    const idp = await atCancel();
    // A link or an <img> on another site: no form post, no token.
    await refused(
      await idp.browser.fetch(idp.abort, { headers: { 'sec-fetch-site': 'cross-site', accept: 'text/html' } }),
      405,
      'a cross-site GET',
    );
    await refused(await idp.browser.fetch(idp.abort, { headers: { accept: 'text/html' } }), 405, 'a GET');
    await refused(await post(idp.browser, idp.abort, {}), 403, 'a post without the token');
    await refused(
      await post(idp.browser, idp.abort, { csrf: idp.csrf }, { 'sec-fetch-site': 'cross-site' }),
      403,
      'a cross-site post with the token',
    );
    await refused(
      await post(idp.browser, idp.abort, { csrf: idp.csrf }, { 'sec-fetch-site': 'same-site' }),
      403,
      'a post from a sibling subdomain',
    );
    // None of them ended the sign-in: the person still signs in from the same page.
    const back = await signInAtFakeGoogle(idp.page.url, (url, init) => idp.browser.fetch(url, init), {
      email: 'dev-cancel@example.com',
    });
    assert.match(back, /code=/);

    // The person's own click on "cancel": the token, from the same origin; the client hears access_denied.
    const own = await atCancel();
    const cancelled = await post(own.browser, own.abort, { csrf: own.csrf }, { 'sec-fetch-site': 'same-origin' });
    assert.equal(cancelled.status, 303);
    await cancelled.body?.cancel();
    const redirectUri = String(app.metadata.redirect_uris[0]);
    const toApp = await own.browser.follow(new URL(cancelled.headers.get('location') ?? '', own.abort), (url) =>
      url.href.startsWith(redirectUri),
    );
    assert.equal(
      toApp.location?.searchParams.get('error'),
      'access_denied',
      `${toApp.response.status} ${toApp.url.href}`,
    );
  });
});

describe('failure-based limits, with the shipped defaults', () => {
  let gw: LoggedGateway;
  const meta = confidentialClient('limited-app');
  const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;
  /** A request from `address`, as the trusted proxy (loopback) reports it. */
  const from = (address: string) => ({ 'x-forwarded-for': address });
  const form = (body: Record<string, string>, headers: Record<string, string>) => ({
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body).toString(),
  });

  before(async () => {
    gw = await startLoggedGateway({ clients: [meta], env: { GATEWAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN } });
  });
  after(async () => gw?.close());

  it('stops a client-secret guesser after 20 failures at that address, answering OAuth error JSON with Retry-After', async () => {
    const guess = (address: string, secret: string) =>
      fetch(
        `${gw.url}/token/introspection`,
        form({ token: 'x' }, { ...from(address), authorization: basic(meta.client_id, secret) }),
      );
    for (let i = 0; i < 20; i += 1) {
      const response = await guess('192.0.2.10', `wrong-${i}`);
      assert.equal(response.status, 401, `guess ${i + 1}`);
      await response.body?.cancel();
    }
    const limited = await guess('192.0.2.10', 'wrong-again');
    assert.equal(limited.status, 429);
    assert.match(limited.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(limited.headers.get('cache-control'), 'no-store');
    const retryAfter = Number(limited.headers.get('retry-after'));
    assert.ok(retryAfter >= 1 && retryAfter <= 300, `Retry-After ${retryAfter}`);
    assert.equal(((await limited.json()) as { error: string }).error, 'temporarily_unavailable');
    const right = await guess('192.0.2.10', meta.client_secret);
    assert.equal(right.status, 429, 'past the limit even the right secret is not looked at from there');
    await right.body?.cancel();
    // The client itself is not locked out: its own server, at another address, carries on.
    const elsewhere = await guess('192.0.2.11', meta.client_secret);
    assert.equal(elsewhere.status, 200);
    assert.equal(((await elsewhere.json()) as { active: boolean }).active, false);
  });

  it('stops guessed authorization codes, and never counts refresh tokens that no longer work', async () => {
    const redeem = (body: Record<string, string>) =>
      fetch(
        `${gw.url}/token`,
        form(body, { ...from('192.0.2.20'), authorization: basic(meta.client_id, meta.client_secret) }),
      );
    for (let i = 0; i < 50; i += 1) {
      const stale = await redeem({ grant_type: 'refresh_token', refresh_token: `gone-${i}` });
      assert.equal(stale.status, 400, 'a refresh token that no longer works is an ordinary answer, however many');
      await stale.body?.cancel();
    }
    const statuses: number[] = [];
    for (let i = 0; i < 21; i += 1) {
      const response = await redeem({
        grant_type: 'authorization_code',
        code: `guess-${i}`,
        redirect_uri: meta.redirect_uris[0] ?? '',
      });
      statuses.push(response.status);
      await response.body?.cancel();
    }
    assert.deepEqual(statuses, [...Array.from({ length: 20 }, () => 400), 429]);
  });

  it("never counts a callback that carries no sign-in cookie: another site's <img> cannot lock its visitors out", async () => {
    const address = from('192.0.2.29');
    for (let i = 0; i < 210; i += 1) {
      for (const path of [`/upstream/callback?state=junk${i}&code=x`, `/oauth2/callback?state=junk${i}&code=x`]) {
        const response = await fetch(`${gw.url}${path}`, {
          headers: {
            ...address,
            accept: 'application/json',
            'sec-fetch-site': 'cross-site',
            'sec-fetch-dest': 'image',
          },
        });
        assert.equal(response.status, 400);
        await response.body?.cancel();
      }
    }
    const start = await fetch(`${gw.url}/oauth2/start?rd=/`, { redirect: 'manual', headers: address });
    assert.equal(start.status, 302, "the visitors' address is not refused");
    await start.body?.cancel();
  });

  it('refuses an address past 200 failures of any kind (forged state at a callback, refused registrations) everywhere but /oauth2/auth', async () => {
    const address = from('192.0.2.30');
    for (let i = 0; i < 100; i += 1) {
      // A callback carrying this browser's sign-in cookie, but not its state: tampered or replayed.
      const callback = await fetch(`${gw.url}/upstream/callback?state=forged-${i}&code=x`, {
        headers: { ...address, accept: 'application/json', cookie: 'gw_upstream=the-real-state' },
      });
      assert.equal(callback.status, 400);
      await callback.body?.cancel();
      const registration = await fetch(`${gw.url}/reg`, {
        method: 'POST',
        headers: { ...address, 'content-type': 'application/json', authorization: 'Bearer wrong' },
        body: '{}',
      });
      assert.equal(registration.status, 401);
      await registration.body?.cancel();
    }
    const registration = await fetch(`${gw.url}/reg`, {
      method: 'POST',
      headers: { ...address, 'content-type': 'application/json', authorization: 'Bearer wrong' },
      body: '{}',
    });
    assert.equal(registration.status, 429);
    assert.equal(((await registration.json()) as { error: string }).error, 'temporarily_unavailable');
    const start = await fetch(`${gw.url}/oauth2/start?rd=/`, {
      redirect: 'manual',
      headers: { ...address, accept: 'application/json' },
    });
    assert.equal(start.status, 429);
    assert.match(start.headers.get('content-type') ?? '', /^application\/problem\+json/);
    assert.equal(((await start.json()) as { title: string }).title, 'too_many_requests');
    const page = await fetch(`${gw.url}/oauth2/start?rd=/`, {
      redirect: 'manual',
      headers: { ...address, accept: 'text/html' },
    });
    assert.equal(page.status, 429);
    assert.match(await page.text(), /Too many/);
    const check = await fetch(`${gw.url}/oauth2/auth`, { headers: address });
    assert.equal(check.status, 401, 'forward auth is never limited: an unknown cookie is simply not signed in');
    await check.body?.cancel();
    const neighbour = await fetch(`${gw.url}/oauth2/start?rd=/`, { redirect: 'manual', headers: from('192.0.2.31') });
    assert.equal(neighbour.status, 302, 'another address is not refused');
    await neighbour.body?.cancel();
  });

  it("never counts the gateway's own in-process calls: forward auth works while its client id is refused at loopback", async () => {
    for (let i = 0; i < 21; i += 1) {
      const response = await fetch(
        `${gw.url}/token`,
        form(
          { grant_type: 'authorization_code', code: 'x' },
          { authorization: basic('gateway-forward-auth', `wrong-${i}`) },
        ),
      );
      await response.body?.cancel();
    }
    const browser = createBrowser();
    const start = await browser.follow(`${gw.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => browser.fetch(u, init), {
      email: 'fa-limited@example.com',
    });
    await browser.follow(back);
    const check = await browser.fetch(`${gw.url}/oauth2/auth`);
    assert.equal(check.status, 202, 'signed in although gateway-forward-auth is refused from 127.0.0.1');
  });

  it('never adds a hook to /oauth2/auth, which nginx asks on every request', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 40 }, async () => {
        const response = await fetch(`${gw.url}/oauth2/auth`);
        await response.body?.cancel();
        return response.status;
      }),
    );
    assert.deepEqual(new Set(statuses), new Set([401]));
    // Only the cookie parser (it reads the very cookie being checked) and its Set-Cookie writer
    // (a refreshed cookie goes back with the 202); onError runs only when something failed.
    const routes = gw.app.printRoutes({ includeHooks: true, commonPrefix: false });
    const start = routes.indexOf('/oauth2/auth (GET)');
    const hooks = routes
      .slice(start, routes.indexOf('/oauth2/auth (HEAD)'))
      .split('\n')
      .slice(1)
      .map((line) => line.replace(/^[│\s•]+/, ''))
      .filter(Boolean);
    assert.deepEqual(hooks, [
      '(onRequest) ["fastifyCookieHandler()"]',
      '(onSend) ["fastifyCookieOnSendHandler()"]',
      '(onError) ["anonymous()"]',
    ]);
  });

  it('counts what it refused, by limit, with an audit event', async () => {
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    assert.ok((metricValue(metrics, 'gateway_limit_refusals_total', { limit: 'client_failures' }) ?? 0) >= 2);
    assert.ok((metricValue(metrics, 'gateway_limit_refusals_total', { limit: 'address_failures' }) ?? 0) >= 1);
    const events = auditEvents(gw).filter((event) => event.audit === 'limit.refused');
    assert.ok(
      events.some((event) => event['limit'] === 'client_failures' && String(event['key']).includes('limited-app')),
    );
    assert.doesNotMatch(JSON.stringify(events), /wrong-|secret/);
  });
});

describe('request size and header limits', () => {
  let gw: LoggedGateway;
  before(async () => {
    gw = await startLoggedGateway({ env: { GATEWAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN } });
  });
  after(async () => gw?.close());

  it('answers headers over 16 KiB with 431 and a problem document', async () => {
    const response = await rawRequest(`${gw.url}/healthz`, { headers: { 'x-padding': 'a'.repeat(20_000) } });
    assert.equal(response.status, 431);
    assert.equal(response.headers['content-type'], 'application/problem+json');
    assert.equal((JSON.parse(response.body) as { status: number }).status, 431);
    const longUrl = await rawRequest(`${gw.url}/auth?state=${'s'.repeat(20_000)}`, {});
    assert.equal(longUrl.status, 431);
  });

  it('answers an oversized body with 413: OAuth JSON at the token and registration endpoints', async () => {
    for (const path of ['/token', '/reg']) {
      const response = await rawRequest(`${gw.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': path === '/reg' ? 'application/json' : 'application/x-www-form-urlencoded' },
        body: 'a'.repeat(100_000),
      });
      assert.equal(response.status, 413, path);
      assert.equal((JSON.parse(response.body) as { error: string }).error, 'invalid_request');
    }
  });

  it("answers an oversized form post to the gateway's own routes with 413", async () => {
    const response = await rawRequest(`${gw.url}/interaction/abc/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: `csrf=${'a'.repeat(10_000)}`,
    });
    assert.equal(response.status, 413);
    assert.match(String(response.headers['content-type']), /^application\/problem\+json/);
  });

  it('answers a request that is not HTTP with 400, and keeps serving', async () => {
    const { connect } = await import('node:net');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(Number(new URL(gw.url).port), '127.0.0.1', () =>
        socket.write('NONSENSE \x00\x01\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /application\/problem\+json/);
    assert.equal((await fetch(`${gw.url}/healthz`)).status, 200);
  });
});
