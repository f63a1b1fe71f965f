/**
 * RP-initiated logout as a browser does it (OIDC RP-Initiated Logout 1.0 §2): the gateway's
 * confirmation page, then its form, following redirects back to the app's post-logout URI.
 */
import assert from 'node:assert/strict';
import type { Browser } from './browser.ts';
import type { TestApp } from './relying-party.ts';

/** Logs the browser's session out through `app`; returns the URL it landed on at the app. */
export async function logOut(browser: Browser, app: TestApp, idToken: string): Promise<URL> {
  const endSession = app.config.serverMetadata().end_session_endpoint ?? '';
  const postLogout = String((app.metadata.post_logout_redirect_uris as string[])[0]);
  const url = new URL(endSession);
  url.search = new URLSearchParams({ id_token_hint: idToken, post_logout_redirect_uri: postLogout }).toString();
  const page = await browser.fetch(url);
  const html = await page.text();
  assert.equal(page.status, 200, `logout page: HTTP ${page.status}`);
  const action =
    /<form[^>]*id="op\.logoutForm"[^>]*action="([^"]+)"|<form[^>]*action="([^"]+)"[^>]*id="op\.logoutForm"/.exec(html);
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(action && xsrf, 'a logout form with its xsrf token');
  const confirmed = await browser.fetch(new URL(action[1] ?? action[2] ?? '', url), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ xsrf, logout: 'yes' }).toString(),
  });
  await confirmed.body?.cancel();
  const next = new URL(confirmed.headers.get('location') ?? '', url);
  if (next.href.startsWith(postLogout)) return next;
  const done = await browser.follow(next, (location) => location.href.startsWith(postLogout));
  assert.ok(done.location, `logout ended at HTTP ${done.response.status}, not at the app`);
  return done.location;
}
