/**
 * The sign-in page with several upstreams, in Debian's Chromium: staff at a Google-like IdP,
 * contractors at GitHub (fakes of both). A person chooses by the provider's name, with the
 * keyboard as well as the mouse, in English or Korean, and lands back at the app with a code.
 * Takes the screenshot the README shows (docs/sign-in-chooser.png).
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { launchChromium } from './helpers/chromium.ts';
import { type FakeGitHub, startFakeGitHub } from './helpers/fake-github.ts';
import { type FakeGoogle, startFakeGoogle } from './helpers/fake-google.ts';
import { confidentialClient, discoverApp, startAuthorization, type TestApp } from './helpers/relying-party.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

describe('browser: choosing an upstream', () => {
  let gw: StartedGateway;
  let staff: FakeGoogle;
  let github: FakeGitHub;
  let browser: Browser;
  let app: TestApp;
  // The app's callback: a server of the test's own that says where the browser landed (the
  // helper's port 9 is one Chromium refuses, and routes do not see the end of a redirect chain).
  let appServer: Server;
  let redirectUri: string;

  before(async () => {
    appServer = createServer((_req, res) => res.end('back at the app'));
    const appPort = await freePort();
    await new Promise<void>((resolve) => appServer.listen(appPort, '127.0.0.1', resolve));
    redirectUri = `http://127.0.0.1:${appPort}/chooser-app/callback`;
    const meta = confidentialClient('chooser-app', { redirect_uris: [redirectUri] });
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    staff = await startFakeGoogle({
      clients: [
        { client_id: 'staff', client_secret: 'staff-secret', redirect_uris: [`${issuer}/upstream/staff/callback`] },
      ],
    });
    github = await startFakeGitHub({
      client: { id: 'gh', secret: 'gh-secret', redirectUri: `${issuer}/upstream/contractors/callback` },
    });
    gw = await startGateway({
      port,
      clients: [meta],
      env: {
        UPSTREAM_CLIENT_ID: '',
        UPSTREAM_CLIENT_SECRET: '',
        GATEWAY_UPSTREAMS: JSON.stringify([
          {
            id: 'staff',
            type: 'google',
            name: 'Staff (Google)',
            issuer: staff.issuer,
            client_id: 'staff',
            client_secret: 'staff-secret',
          },
          {
            id: 'contractors',
            type: 'github',
            name: 'Contractors (GitHub)',
            base_url: github.url,
            client_id: 'gh',
            client_secret: 'gh-secret',
          },
        ]),
      },
    });
    app = await discoverApp(gw.issuer, meta);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await gw?.close();
    await staff?.close();
    await github?.close();
    appServer?.closeAllConnections();
    await new Promise((resolve) => appServer?.close(resolve));
  });

  const context = (locale: string): Promise<BrowserContext> =>
    browser.newContext({ locale, viewport: { width: 420, height: 560 } });

  it('lists each upstream by name, and the keyboard alone signs a contractor in at GitHub', async () => {
    const ctx = await context('en-US');
    const page = await ctx.newPage();
    await page.goto((await startAuthorization(app)).url.href);
    const links = page.getByRole('navigation', { name: 'Choose where your account is:' }).getByRole('link');
    assert.deepEqual(await links.allTextContents(), [
      'Continue with Staff (Google)',
      'Continue with Contractors (GitHub)',
    ]);
    await page.screenshot({ path: 'docs/sign-in-chooser.png' });

    github.signInAs({
      id: 7,
      login: 'contractor',
      name: 'Con Tractor',
      emails: [{ email: 'con@contractor.example', primary: true, verified: true }],
    });
    // Tab to the second choice and press Enter, as someone without a mouse does.
    await page.keyboard.press('Tab');
    await page.keyboard.press('Tab');
    assert.equal(await page.locator(':focus').textContent(), 'Continue with Contractors (GitHub)');
    await Promise.all([page.waitForURL(`${redirectUri}**`), page.keyboard.press('Enter')]);
    const back = new URL(page.url());
    assert.ok(back.searchParams.get('code'), 'a code for the app');
    assert.equal(github.counters.authorize, 1);
    await ctx.close();
  });

  it('speaks Korean to a Korean browser', async () => {
    const ctx = await context('ko-KR');
    const page = await ctx.newPage();
    await page.goto((await startAuthorization(app)).url.href);
    assert.equal(await page.getAttribute('html', 'lang'), 'ko');
    assert.equal(await page.textContent('h1'), '계속하려면 로그인하세요');
    assert.ok(await page.getByRole('link', { name: 'Staff (Google)(으)로 계속하기' }).isVisible());
    await ctx.close();
  });
});
