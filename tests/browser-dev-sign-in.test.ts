/**
 * A real browser (Debian's Chromium) clicks through the README's five-minute tour in
 * development mode, and takes the screenshot the README shows (docs/dev-sign-in.png).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { loadConfig } from '../config/load-config.ts';
import { buildGateway } from '../gateway/app/build-gateway.ts';
import { launchChromium } from './helpers/chromium.ts';
import { freePort } from './helpers/start-gateway.ts';

describe('browser: development sign-in', () => {
  let app: FastifyInstance;
  let browser: Browser;
  let issuer: string;

  before(async () => {
    const port = await freePort();
    // "localhost", as in the README, so the screenshot shows what a reader will see
    issuer = `http://localhost:${port}`;
    const loaded = loadConfig({
      GATEWAY_ISSUER: issuer,
      GATEWAY_PORT: String(port),
      GATEWAY_STORE: 'memory://',
      GATEWAY_LOG_LEVEL: 'silent',
    });
    assert.ok(loaded.ok);
    app = await buildGateway(loaded.config);
    await app.listen({ host: '127.0.0.1', port });
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await app?.close();
  });

  it('signs in to the demo app through the development IdP form', async () => {
    const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
    await page.goto(`${issuer}/demo`);
    await page.getByRole('link', { name: 'Sign in' }).click();
    await page.getByLabel(/e-mail/i).waitFor();
    await page.screenshot({ path: 'docs/dev-sign-in.png' });
    await page.getByLabel(/e-mail/i).fill('grace@example.com');
    await page.getByLabel(/name/i).fill('Grace Hopper');
    await page.keyboard.press('Enter');
    await page.waitForURL(`${issuer}/demo`);
    assert.match((await page.textContent('h1')) ?? '', /Signed in as Grace Hopper/);
    await page.screenshot({ path: 'docs/dev-demo-signed-in.png', fullPage: true });
    await page.close();
  });
});
