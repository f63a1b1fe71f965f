/**
 * The device authorization grant (RFC 8628) as a CLI's user meets it: the device asks for a code
 * (openid-client), the person types it on the verification page in a browser (English or Korean),
 * confirms the device, the app and what it asks for, signs in at the upstream, and the device's
 * polling gets tokens. Polling too fast is `slow_down`; a wrong code is said plainly and counted;
 * a cancelled confirmation is `access_denied` at the device. (A real CLI driven while Chromium
 * completes the page: tests/browser-apps.test.ts.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const API = 'https://api.example.test';
const DEVICE_GRANT = 'urn:ietf:params:oauth:grant-type:device_code';

/** The verification page's form fields (action and oidc-provider's CSRF token). */
function formOf(html: string) {
  const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1];
  const xsrf = /name="xsrf" value="([^"]+)"/.exec(html)?.[1];
  assert.ok(action && xsrf, 'a form with its CSRF token');
  return { action: action.replaceAll('&amp;', '&'), xsrf };
}

const post = (browser: Browser, url: string, fields: Record<string, string>, language = 'en') =>
  browser.fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'accept-language': language },
    body: new URLSearchParams(fields).toString(),
  });

describe('the device authorization grant (RFC 8628)', () => {
  let gw: StartedGateway;
  let cli: client.Configuration;

  before(async () => {
    gw = await startGateway({
      clients: [
        {
          client_id: 'acme-cli',
          client_name: 'Acme CLI',
          token_endpoint_auth_method: 'none',
          grant_types: [DEVICE_GRANT, 'refresh_token'],
          response_types: [],
          redirect_uris: [],
          resources: [API],
        },
      ],
    });
    cli = await client.discovery(new URL(gw.issuer), 'acme-cli', undefined, client.None(), {
      execute: [client.allowInsecureRequests],
    });
  });
  after(async () => {
    await gw?.close();
  });

  /** Types `userCode` on the verification page and returns the confirmation page's HTML. */
  async function enterCode(browser: Browser, verificationUri: string, userCode: string, language = 'en') {
    const page = await browser.fetch(verificationUri, { headers: { 'accept-language': language } });
    assert.equal(page.status, 200);
    const html = await page.text();
    const form = formOf(html);
    return post(browser, new URL(form.action, gw.issuer).href, { xsrf: form.xsrf, user_code: userCode }, language);
  }

  it('signs a person in on a device: code, confirmation naming the app and its scopes, upstream sign-in, tokens', async () => {
    const metadata = cli.serverMetadata();
    assert.equal(metadata.device_authorization_endpoint, `${gw.issuer}/device/auth`);
    const device = await client.initiateDeviceAuthorization(cli, {
      scope: 'openid email profile offline_access',
      resource: API,
    });
    assert.match(device.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(device.verification_uri, `${gw.issuer}/device`);
    assert.equal(device.interval, 5, 'the interval said, not left to the default');
    assert.equal(device.expires_in, 600);

    const browser = createBrowser();
    // Typed as a person would: lower case, without the dash.
    const confirm = await enterCode(browser, device.verification_uri, device.user_code.replace('-', '').toLowerCase());
    assert.equal(confirm.status, 200);
    const confirmHtml = await confirm.text();
    assert.match(confirmHtml, /<h1>Is this your device\?<\/h1>/);
    assert.match(confirmHtml, /<strong>Acme CLI<\/strong>/);
    assert.ok(confirmHtml.includes(`<code>${device.user_code}</code>`), 'the code, to compare with the device');
    assert.match(confirmHtml, /<li>Your e-mail address<\/li>/);
    assert.match(confirmHtml, /<li>Access while you are away \(refresh tokens\)<\/li>/);
    const form = formOf(confirmHtml);
    const confirmed = await post(browser, new URL(form.action, gw.issuer).href, {
      xsrf: form.xsrf,
      user_code: device.user_code,
      confirm: 'yes',
    });
    // On to the sign-in (the upstream) and, for a third-party app, the consent page.
    const hop = await browser.follow(new URL(confirmed.headers.get('location') ?? '/', gw.issuer), (url) =>
      url.href.startsWith(gw.google.issuer),
    );
    assert.ok(hop.location, 'sent to the upstream to sign in');
    const back = await signInAtFakeGoogle(hop.location.href, (url, init) => browser.fetch(url, init), {
      email: 'dev@example.com',
      name: 'Dev',
    });
    const consent = await browser.follow(back);
    const consentHtml = await consent.response.text();
    assert.match(consentHtml, /Acme CLI/);
    const csrf = /name="csrf" value="([^"]+)"/.exec(consentHtml)?.[1] ?? '';
    const allowed = await browser.fetch(`${consent.url.href}/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ csrf }).toString(),
    });
    const done = await browser.follow(new URL(allowed.headers.get('location') ?? '/', gw.issuer));
    assert.equal(done.response.status, 200);
    assert.match(await done.response.text(), /Your device is signed in/);

    const tokens = await client.pollDeviceAuthorizationGrant(cli, device, { resource: API });
    assert.equal(decodeJwt(tokens.access_token).aud, API);
    assert.equal(tokens.claims()?.['email'], 'dev@example.com');
    assert.ok(tokens.refresh_token, 'a refresh token: the device stays signed in');
  });

  it('answers slow_down to a device polling faster than its interval, and authorization_pending before', async () => {
    const device = await client.initiateDeviceAuthorization(cli, { scope: 'openid' });
    const poll = async () => {
      const response = await fetch(`${gw.issuer}/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: DEVICE_GRANT, device_code: device.device_code, client_id: 'acme-cli' }),
      });
      return ((await response.json()) as { error: string }).error;
    };
    assert.equal(await poll(), 'authorization_pending');
    assert.equal(await poll(), 'slow_down');
  });

  it('says a wrong code plainly, in Korean too, and a cancelled device gets access_denied', async () => {
    const browser = createBrowser();
    const wrong = await enterCode(browser, `${gw.issuer}/device`, 'BCDF-GHJK');
    const wrongHtml = await wrong.text();
    assert.match(wrongHtml, /role="alert">That code is not valid/);
    assert.match(wrongHtml, /aria-invalid="true"/);
    const korean = await browser.fetch(`${gw.issuer}/device`, { headers: { 'accept-language': 'ko-KR,ko;q=0.9' } });
    const koreanHtml = await korean.text();
    assert.match(koreanHtml, /<html lang="ko">/);
    assert.match(koreanHtml, /<label for="user_code">기기에 표시된 코드<\/label>/);

    const device = await client.initiateDeviceAuthorization(cli, { scope: 'openid' });
    const confirm = await enterCode(browser, device.verification_uri, device.user_code);
    const form = formOf(await confirm.text());
    const aborted = await post(browser, new URL(form.action, gw.issuer).href, {
      xsrf: form.xsrf,
      user_code: device.user_code,
      abort: 'yes',
    });
    assert.match(await aborted.text(), /You cancelled/);
    await assert.rejects(
      client.pollDeviceAuthorizationGrant(cli, device),
      (error: unknown) => (error as { error?: string }).error === 'access_denied',
    );
  });

  it('shows a code from verification_uri_complete for the person to submit, and hides scopes it would not grant', async () => {
    const device = await client.initiateDeviceAuthorization(cli, { scope: 'openid email bogus:scope' });
    const browser = createBrowser();
    const complete = await browser.fetch(device.verification_uri_complete ?? '');
    assert.equal(complete.status, 200);
    const html = await complete.text();
    assert.ok(html.includes(`value="${device.user_code}"`), 'the code is in the field');
    assert.doesNotMatch(html, /<script/, 'nothing submits it for the person');
    const confirm = await enterCode(browser, device.verification_uri, device.user_code);
    const confirmHtml = await confirm.text();
    assert.match(confirmHtml, /<li>Your e-mail address<\/li>/);
    assert.doesNotMatch(confirmHtml, /bogus/, 'a scope the gateway does not grant is not put before the user');
    // A post without the page's session (a form from elsewhere) goes back to the page.
    const stray = await fetch(`${gw.issuer}/device`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ user_code: device.user_code, confirm: 'yes' }),
      redirect: 'manual',
    });
    assert.equal(stray.status, 303);
    assert.equal(stray.headers.get('location'), '/device');
    const strayStep = await fetch(`${gw.issuer}/device/success`, { redirect: 'manual' });
    assert.equal(strayStep.status, 303);
  });

  it('refuses an address that keeps guessing codes, before its next code is looked at', async () => {
    const browser = createBrowser();
    const page = await browser.fetch(`${gw.issuer}/device`, { headers: { 'x-forwarded-for': '192.0.2.77' } });
    // Each answer is the page again, with a fresh CSRF token for the next try (as a browser sees it).
    let form = formOf(await page.text());
    const guess = (code: string) =>
      browser.fetch(new URL(form.action, gw.issuer), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '192.0.2.77' },
        body: new URLSearchParams({ xsrf: form.xsrf, user_code: code }).toString(),
      });
    for (let i = 0; i < 20; i += 1) {
      const answer = await guess(`BCDF-GH${'JKLMNPQRSTVWXZBCDFGH'[i]}K`);
      assert.equal(answer.status, 200, `guess ${i + 1} is answered`);
      const html = await answer.text();
      assert.match(html, /That code is not valid/);
      form = formOf(html);
    }
    const refused = await guess('BCDF-GHJK');
    assert.equal(refused.status, 429);
    assert.ok(Number(refused.headers.get('retry-after')) > 0);
    await refused.body?.cancel();
  });
});
