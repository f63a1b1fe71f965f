/**
 * `npm start` with no upstream credentials: the development IdP mounted at /dev-idp and the demo
 * app at /demo give a person a whole sign-in in a browser. Here a browser-like client clicks
 * through it, exactly as the README's five-minute tour does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../config/load-config.ts';
import { buildGateway } from '../gateway/app/build-gateway.ts';
import { createBrowser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { freePort } from './helpers/start-gateway.ts';

describe('development mode', () => {
  let app: FastifyInstance;
  let issuer: string;

  before(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    const loaded = loadConfig({
      GATEWAY_ISSUER: issuer,
      GATEWAY_PORT: String(port),
      GATEWAY_STORE: 'memory://',
      GATEWAY_LOG_LEVEL: 'silent',
    });
    assert.ok(loaded.ok, loaded.ok ? '' : loaded.problems.join('\n'));
    assert.equal(loaded.config.devMode, true);
    app = await buildGateway(loaded.config);
    await app.listen({ host: '127.0.0.1', port });
  });
  after(async () => app?.close());

  it('serves discovery for the gateway and for the development IdP', async () => {
    const gateway = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { issuer: string };
    assert.equal(gateway.issuer, issuer);
    const devIdp = (await (await fetch(`${issuer}/dev-idp/.well-known/openid-configuration`)).json()) as {
      issuer: string;
      authorization_endpoint: string;
    };
    assert.equal(devIdp.issuer, `${issuer}/dev-idp`);
    assert.ok(devIdp.authorization_endpoint.startsWith(`${issuer}/dev-idp/`));
  });

  it('lets a person sign in to the demo app through the development IdP form', async () => {
    const browser = createBrowser();
    const toIdp = await browser.follow(`${issuer}/demo/login`, (url) => url.pathname.startsWith('/dev-idp/'));
    assert.ok(toIdp.location, 'the demo app sends the browser through the gateway to the dev IdP');
    const form = await browser.follow(toIdp.location);
    const html = await form.response.text();
    assert.match(html, /<label[^>]*for="email"/i, 'the sign-in form has a labelled e-mail field');
    const back = await signInAtFakeGoogle(form.url.href, (url, init) => browser.fetch(url, init), {
      email: 'grace@example.com',
      name: 'Grace Hopper',
    });
    const landed = await browser.follow(back);
    assert.equal(landed.url.pathname, '/demo');
    const page = await landed.response.text();
    assert.match(page, /Signed in as Grace Hopper/);
    assert.match(page, /&quot;typ&quot;|at\+jwt|client_id/);
  });
});
