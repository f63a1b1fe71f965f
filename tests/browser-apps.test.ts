/**
 * The apps for real, in a real browser (Debian's Chromium): examples/full-stack's nginx, Django
 * and React SPA (stack.ts, as `examples/full-stack/run.sh` runs them) around a gateway whose
 * upstream is the fake Google. Takes the screenshots in docs/.
 *
 * What "signed out" means for each app, as tested here:
 * - the Django app behind forward auth: its next request is sent to sign in (nginx's 401 →
 *   /oauth2/sign_in → /oauth2/start). After /oauth2/sign_out at once; after a sign-out in another
 *   app (RP-initiated logout at the gateway's end_session_endpoint, which revokes every grant of
 *   the SSO session) as soon as its cookie's access token has expired and the refresh is refused,
 *   so within GATEWAY_ACCESS_TOKEN_TTL;
 * - the SPA: its refresh token is refused. Its access token, a JWT verified offline, stays valid
 *   until it expires (that is what short-lived means); the next API call after that gets a 401,
 *   the refresh gets `invalid_grant`, and the SPA drops its in-memory tokens and shows "signed
 *   out";
 * - for both, signing in again goes to Google again: the gateway has no session left.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClientMetadata } from 'oidc-provider';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { fetch as undiciFetch } from 'undici';
import {
  buildSpa,
  CLI_CLIENT_ID,
  stackClients,
  stackGatewaySettings,
  startApps,
  type RunningApps,
  type StackPorts,
} from '../examples/full-stack/stack.ts';
import { loopbackDispatcher } from './helpers/browser.ts';
import { CHROMIUM_PATH } from './helpers/chromium.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

/** Short, so that the test sees access tokens expire; long enough for a sign-in to finish. */
const ACCESS_TOKEN_TTL = 5;
const DOCS = 'docs';
/** A third-party app (consent is shown), for the consent page's screenshot. */
const THIRD_PARTY: ClientMetadata = {
  client_id: 'reporting-tool',
  client_name: 'Reporting tool',
  token_endpoint_auth_method: 'none',
  redirect_uris: ['http://localhost:9/reporting/callback'],
  grant_types: ['authorization_code'],
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('browser: the Django and React examples behind one sign-in', () => {
  let gw: StartedGateway;
  let apps: RunningApps;
  let browser: Browser;
  let work: string;
  let ports: StackPorts;
  /** The person's browser (English), shared by the steps below, in order. */
  let context: BrowserContext;
  let spa: Page;
  /** Status codes of the SPA's calls to the API, and grant types of its token requests. */
  const apiStatuses: number[] = [];
  const grantTypes: string[] = [];
  let lastApiExpiresIn = ACCESS_TOKEN_TTL;
  const dispatcher = loopbackDispatcher();

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'browser-apps-'));
    mkdirSync(DOCS, { recursive: true });
    const spaDir = join(work, 'spa');
    await buildSpa(spaDir);
    ports = { nginx: await freePort(), django: await freePort() };
    const djangoSecret = randomBytes(32).toString('base64url');
    gw = await startGateway({
      env: { GATEWAY_ACCESS_TOKEN_TTL: String(ACCESS_TOKEN_TTL), ...stackGatewaySettings(ports) },
      clients: [...(stackClients(ports, djangoSecret) as unknown as ClientMetadata[]), THIRD_PARTY],
    });
    apps = await startApps({ issuer: gw.issuer, ports, djangoSecret, spaDir, workDir: join(work, 'apps') });
    browser = await launchWithLocalhostNames();
    context = await browser.newContext({ locale: 'en-US', viewport: { width: 960, height: 720 } });
  });

  after(async () => {
    await context?.close();
    await browser?.close();
    await apps?.stop();
    await gw?.close();
    await dispatcher.close();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** Chromium with *.localhost pinned to 127.0.0.1 (where nginx listens), never ::1. */
  async function launchWithLocalhostNames(): Promise<Browser> {
    if (!existsSync(CHROMIUM_PATH)) {
      throw new Error(
        `Chromium is not installed at ${CHROMIUM_PATH}: run .ci/run (it installs Debian's chromium) or set CHROMIUM_PATH`,
      );
    }
    return chromium.launch({
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-background-networking',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-component-update',
        '--disable-sync',
        '--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP localhost 127.0.0.1',
      ],
    });
  }

  const googleSignIns = () => gw.google.idp.counters.authorization;

  /**
   * Where the app at `url` sends this browser, without following: 200 (signed in) or a redirect
   * to sign in. Sent from here with the browser's cookies (Playwright's own request API resolves
   * names through the system, which knows nothing of app.localhost).
   */
  async function appAnswer(url: string): Promise<{ status: number; location: string }> {
    const cookies = await context.cookies(url);
    const response = await undiciFetch(url, {
      redirect: 'manual',
      dispatcher,
      headers: { accept: 'text/html', cookie: cookies.map((c) => `${c.name}=${c.value}`).join('; ') },
    });
    await response.body?.cancel();
    return { status: response.status, location: response.headers.get('location') ?? '' };
  }

  async function callApi(page: Page, expectLog?: RegExp): Promise<Record<string, unknown>> {
    await page.getByRole('button', { name: 'Call the API' }).click();
    if (expectLog) await page.getByText(expectLog).waitFor();
    await page.locator('#api-result [data-status]').waitFor();
    await page.getByRole('button', { name: 'Call the API' }).and(page.locator(':enabled')).waitFor();
    return JSON.parse((await page.locator('#api-result pre').textContent()) ?? '{}') as Record<string, unknown>;
  }

  it('renders the sign-in page in Korean for Accept-Language: ko, at phone width', async () => {
    const korean = await browser.newContext({ locale: 'ko-KR', viewport: { width: 390, height: 760 } });
    try {
      const page = await korean.newPage();
      await page.goto(`${apps.urls.app}/`);
      await page.getByLabel('이메일 주소').waitFor();
      assert.equal(await page.getAttribute('html', 'lang'), 'ko');
      assert.match((await page.textContent('h1')) ?? '', /로그인/);
      await page.screenshot({ path: `${DOCS}/sign-in-ko.png` });
    } finally {
      await korean.close();
    }
  });

  it('signs in through nginx into the Django app (forward auth), and Flower behind it', async () => {
    const page = await context.newPage();
    const before = googleSignIns();
    await page.goto(`${apps.urls.app}/`);
    await page.getByLabel(/e-mail/i).fill('ada@example.com');
    await page.getByLabel(/name/i).fill('Ada Lovelace');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${apps.urls.app}/`);
    assert.equal(await page.textContent('h1'), 'Signed in as Ada Lovelace');
    assert.equal(
      await page.locator('[data-source]').getAttribute('data-source'),
      'forward-auth',
      'identity from the verified X-Auth-Request-Access-Token',
    );
    assert.equal(googleSignIns(), before + 1);
    await page.screenshot({ path: `${DOCS}/django-signed-in.png` });

    await page.goto(apps.urls.flower);
    await page.getByText('Signed in at the gateway as ada@example.com').waitFor();
    await page.screenshot({ path: `${DOCS}/flower-signed-in.png` });
    await page.close();
  });

  it('signs in to the SPA without Google (SSO), calls the API, and refreshes once when the token expires', async () => {
    spa = await context.newPage();
    spa.on('request', (request) => {
      if (request.url() === `${gw.issuer}/token`)
        grantTypes.push(new URLSearchParams(request.postData() ?? '').get('grant_type') ?? '');
    });
    spa.on('response', (response) => {
      if (response.url() === `${apps.urls.api}/api/me` && response.request().method() === 'GET')
        apiStatuses.push(response.status());
    });
    const before = googleSignIns();
    await spa.goto(`${apps.urls.spa}/`);
    await spa.getByRole('button', { name: 'Sign in' }).click();
    await spa.getByRole('heading', { name: 'Signed in as Ada Lovelace' }).waitFor();
    assert.equal(new URL(spa.url()).pathname, '/', 'the callback URL (code, state) is gone from the address bar');
    assert.equal(googleSignIns(), before, 'single sign-on: no new trip to Google');

    // tokens in memory only: nothing in localStorage, sessionStorage or a script-readable cookie
    const storage = await spa.evaluate(
      '({ local: localStorage.length, session: sessionStorage.length, cookie: document.cookie })',
    );
    assert.deepEqual(storage, { local: 0, session: 0, cookie: '' });

    const first = await callApi(spa);
    assert.equal(first['email'], 'ada@example.com');
    assert.equal(first['aud'], apps.urls.api, 'an access token for the API (RFC 8707 resource)');
    assert.deepEqual(apiStatuses, [200]);

    // the access token expires; the next call gets 401, refreshes once, and succeeds
    await sleep((Number(first['expires_in']) + 1.2) * 1000);
    const second = await callApi(spa, /access token refreshed/);
    assert.equal(second['email'], 'ada@example.com');
    assert.deepEqual(apiStatuses, [200, 401, 200]);
    assert.deepEqual(grantTypes, ['authorization_code', 'refresh_token']);
    lastApiExpiresIn = Number(second['expires_in']);
    await spa.screenshot({ path: `${DOCS}/react-signed-in.png`, fullPage: true });
  });

  it('signing out of the Django app signs the SPA out', async () => {
    const django = await context.newPage();
    await django.goto(`${apps.urls.app}/`);
    assert.equal(await django.textContent('h1'), 'Signed in as Ada Lovelace');
    await django.getByRole('link', { name: 'Sign out' }).click();
    await django.waitForURL(`${apps.urls.app}/signed-out`);
    await django.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await django.close();
    // the Django app: at once
    const next = await appAnswer(`${apps.urls.app}/`);
    assert.equal(next.status, 302);
    assert.match(next.location, /\/oauth2\/start\?/);

    // the SPA: once its access token has expired, the refresh is refused and it is signed out
    await sleep((lastApiExpiresIn + 1.2) * 1000);
    await spa.getByRole('button', { name: 'Call the API' }).click();
    await spa.getByRole('heading', { name: 'You are signed out' }).waitFor();
    await spa.getByText('Your session at the gateway has ended').waitFor();
    assert.equal(apiStatuses.at(-1), 401, 'no retry without a fresh token');
    assert.equal(grantTypes.at(-1), 'refresh_token');

    // signing in again goes to Google again
    const before = googleSignIns();
    await spa.getByRole('button', { name: 'Sign in' }).click();
    await spa.getByRole('heading', { name: 'Signed in as Ada Lovelace' }).waitFor();
    assert.equal(googleSignIns(), before + 1, 'a new sign-in at Google');
  });

  it('signing out of the SPA (RP-initiated logout) signs the Django app out', async () => {
    // the Django app joins the new SSO session without Google
    const before = googleSignIns();
    const django = await context.newPage();
    await django.goto(`${apps.urls.app}/`);
    assert.equal(await django.textContent('h1'), 'Signed in as Ada Lovelace');
    assert.equal(googleSignIns(), before);
    await django.close();

    await spa.getByRole('button', { name: 'Sign out' }).click();
    await spa.getByRole('button', { name: 'Yes, sign me out' }).waitFor();
    await spa.screenshot({ path: `${DOCS}/sign-out.png` });
    await spa.getByRole('button', { name: 'Yes, sign me out' }).click();
    await spa.waitForURL(`${apps.urls.spa}/`);
    await spa.getByRole('heading', { name: 'You are signed out' }).waitFor();
    const signedOutAt = Date.now();

    // the Django app is sent to sign in again within one access-token lifetime
    let answer = await appAnswer(`${apps.urls.app}/`);
    while (answer.status === 200 && Date.now() - signedOutAt < (ACCESS_TOKEN_TTL + 3) * 1000) {
      await sleep(250);
      answer = await appAnswer(`${apps.urls.app}/`);
    }
    assert.equal(answer.status, 302, `still signed in ${Date.now() - signedOutAt} ms after the sign-out`);
    assert.match(answer.location, /\/oauth2\/start\?/);
    const again = googleSignIns();
    const page = await context.newPage();
    await page.goto(`${apps.urls.app}/`);
    await page.getByRole('heading', { name: 'Signed in as Ada Lovelace' }).waitFor();
    assert.equal(googleSignIns(), again + 1, 'a new sign-in at Google');
    await page.close();
  });

  it('signs a command-line tool in with a code typed in the browser, and the tool calls the Django API', async () => {
    // examples/cli/device-login.ts as a user runs it; its output says where to go and what to type.
    const tool = spawn(
      process.execPath,
      [
        'examples/cli/device-login.ts',
        '--issuer',
        gw.issuer,
        '--client-id',
        CLI_CLIENT_ID,
        '--api',
        `http://127.0.0.1:${ports.django}/api/me`,
        '--resource',
        apps.urls.api,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    tool.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    tool.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => tool.on('exit', resolve));
    const visitor = await browser.newContext({ locale: 'en-US', viewport: { width: 760, height: 720 } });
    try {
      const started = Date.now();
      let prompt: RegExpExecArray | null = null;
      while (!prompt && Date.now() - started < 20_000) {
        prompt = /open (\S+) and enter the code ([A-Z]{4}-[A-Z]{4})/.exec(output);
        if (!prompt) await sleep(100);
      }
      assert.ok(prompt, `the tool said where to sign in:\n${output}`);
      const [, verificationUri = '', userCode = ''] = prompt;
      const page = await visitor.newPage();
      await page.goto(verificationUri);
      // Typed as a person would: lower case, no dash.
      await page.getByLabel('Code from your device').fill(userCode.replace('-', '').toLowerCase());
      await page.screenshot({ path: `${DOCS}/device-code.png` });
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.getByRole('heading', { name: 'Is this your device?' }).waitFor();
      const confirmText = (await page.textContent('main')) ?? '';
      assert.match(confirmText, /Command-line example/);
      assert.ok(confirmText.includes(userCode), 'the code, to compare with the terminal');
      await page.screenshot({ path: `${DOCS}/device-confirm.png` });
      await page.getByRole('button', { name: 'Yes, sign it in' }).click();
      await page.getByLabel(/e-mail/i).fill('lin@example.com');
      await page.getByLabel(/name/i).fill('Lin Terminal');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Your device is signed in' }).waitFor();
      assert.equal(await exited, 0, output);
      assert.match(output, /Signed in as lin@example\.com/);
      assert.match(output, /answered 200: .*"email": "lin@example\.com"/);
    } finally {
      tool.kill();
      await visitor.close();
    }
  });

  it("shows the gateway's consent, error and signed-out pages", async () => {
    const visitor = await browser.newContext({ locale: 'en-US', viewport: { width: 760, height: 640 } });
    try {
      const page = await visitor.newPage();
      const consent = new URL(`${gw.issuer}/auth`);
      consent.search = new URLSearchParams({
        client_id: String(THIRD_PARTY.client_id),
        response_type: 'code',
        scope: 'openid email profile',
        redirect_uri: THIRD_PARTY.redirect_uris?.[0] ?? '',
        code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
        code_challenge_method: 'S256',
        state: 'screenshot',
      }).toString();
      await page.goto(consent.href);
      await page.getByLabel(/e-mail/i).fill('grace@example.com');
      await page.getByLabel(/name/i).fill('Grace Hopper');
      await page.keyboard.press('Enter');
      await page.getByRole('heading', { name: 'Allow access?' }).waitFor();
      assert.match((await page.textContent('main')) ?? '', /Reporting tool/);
      await page.screenshot({ path: `${DOCS}/consent.png` });
      // deny: the app gets access_denied (RFC 6749 §4.1.2.1)
      await page.route('http://localhost:9/**', (route) =>
        route.fulfill({ status: 200, contentType: 'text/plain', body: 'the app' }),
      );
      await page.getByRole('button', { name: 'Deny' }).click();
      await page.waitForURL(/localhost:9\/reporting\/callback/);
      assert.equal(new URL(page.url()).searchParams.get('error'), 'access_denied');

      await page.goto(
        `${gw.issuer}/auth?client_id=nobody&response_type=code&scope=openid&redirect_uri=https%3A%2F%2Fevil.example%2Fcb`,
      );
      await page.getByRole('heading', { name: 'Something went wrong' }).waitFor();
      assert.match((await page.textContent('main')) ?? '', /invalid_client/);
      await page.screenshot({ path: `${DOCS}/error.png` });

      await page.goto(`${gw.issuer}/session/end/success`);
      await page.getByRole('heading', { name: 'You are signed out' }).waitFor();
      await page.screenshot({ path: `${DOCS}/signed-out.png` });
    } finally {
      await visitor.close();
    }
  });
});
