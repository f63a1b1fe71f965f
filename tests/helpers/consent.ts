/**
 * Signing in as a downstream app with or without the consent page (third-party vs first-party
 * clients), and checking a client's credentials alone, for the client registration tests.
 */
import assert from 'node:assert/strict';
import type { Browser } from './browser.ts';
import { authorizeInBrowser, redeem, startAuthorization, type TestApp } from './relying-party.ts';

/** What these helpers need of a running gateway. */
export interface GatewayUnderTest {
  issuer: string;
  google: { issuer: string };
}

/**
 * Signs in as a third-party client (or asking for a scope that always needs consent, with `extra`
 * authorization parameters): the consent page at /interaction/:uid names the app and is
 * confirmed (its form posts to /interaction/:uid/confirm). Returns the token response.
 */
export async function signInWithConsent(
  browser: Browser,
  gw: GatewayUnderTest,
  app: TestApp,
  email: string,
  clientName: string,
  extra: Record<string, string> = {},
) {
  const start = await startAuthorization(app, extra);
  const first = await authorizeInBrowser(browser, app, start, gw.google.issuer, { email });
  assert.equal(first.callback, undefined, 'no code before consent');
  assert.equal(first.page?.status, 200);
  const consentUrl = new URL(first.page?.url ?? '');
  assert.match(consentUrl.pathname, /^\/interaction\/[^/]+$/, 'the consent page');
  const html = (await first.page?.text()) ?? '';
  assert.ok(html.includes(clientName), 'the page names the app');
  assert.ok(html.includes(`action="${consentUrl.pathname}/confirm"`), 'an allow form');
  assert.ok(html.includes(`action="${consentUrl.pathname}/abort"`), 'a deny form');
  // The forms carry a CSRF token (gateway/web/csrf.ts); a browser posts it with the form.
  const csrf = /name="csrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(csrf, 'the consent forms carry a CSRF token');
  const confirmed = await browser.fetch(`${consentUrl.href}/confirm`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ csrf }).toString(),
  });
  assert.ok(confirmed.status >= 300 && confirmed.status < 400, `confirm redirects (got ${confirmed.status})`);
  const redirectUri = app.metadata.redirect_uris[0] ?? '';
  const back = await browser.follow(new URL(confirmed.headers.get('location') ?? '', gw.issuer), (url) =>
    url.href.startsWith(redirectUri),
  );
  assert.ok(back.location, 'back at the app');
  return redeem(app, start, back.location);
}

/** Signs in expecting no consent page (a remembered grant, or a first-party client). */
export async function signInWithoutConsent(browser: Browser, gw: GatewayUnderTest, app: TestApp, email: string) {
  const start = await startAuthorization(app);
  const result = await authorizeInBrowser(browser, app, start, gw.google.issuer, { email });
  assert.ok(result.callback, `no consent page expected, got HTTP ${result.page?.status} at ${result.page?.url}`);
  return redeem(app, start, result.callback);
}

/** The page an authorization request for `app` ends on when no code comes back (e.g. 400). */
export async function authorizationRefused(
  browser: Browser,
  gw: GatewayUnderTest,
  app: TestApp,
  email: string,
): Promise<Response> {
  const start = await startAuthorization(app);
  const result = await authorizeInBrowser(browser, app, start, gw.google.issuer, { email });
  assert.equal(result.callback, undefined, 'no redirect back to the app');
  assert.ok(result.page, 'an error page');
  return result.page;
}

/**
 * Client authentication alone (HTTP Basic, RFC 6749 §2.3.1) at the introspection endpoint: 200
 * when the credentials are good, 401 `invalid_client` when not.
 */
export function introspectAs(issuer: string, clientId: string, secret: string): Promise<Response> {
  return fetch(`${issuer}/token/introspection`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`).toString('base64')}`,
    },
    body: new URLSearchParams({ token: 'not-a-token' }),
  });
}
