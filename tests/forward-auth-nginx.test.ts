/**
 * Forward auth end to end: real nginx with examples/nginx/gateway.conf (ports filled in) in front
 * of an app that echoes the identity headers it receives, the gateway, and the fake Google.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type IncomingMessage, request as httpRequest } from 'node:http';
import type { Socket } from 'node:net';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { createBrowser, loopbackDispatcher, type Browser } from './helpers/browser.ts';
import { startEchoApp } from './helpers/echo-app.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { shippedNginxConfig, startNginx, type RunningNginx } from './helpers/nginx.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

interface Echo {
  path: string;
  headers: Record<string, string>;
}

describe('forward auth through nginx auth_request', () => {
  let gw: StartedGateway;
  let nginx: RunningNginx;
  let app: Awaited<ReturnType<typeof startEchoApp>>;
  let port: number;
  const dispatcher = loopbackDispatcher();
  const newBrowser = () => createBrowser({ dispatcher });
  const A = () => `http://app.a.test:${port}`;
  const B = () => `http://app.b.example:${port}`;
  const ADMIN = () => `http://admin.a.test:${port}`;

  before(async () => {
    port = await freePort();
    gw = await startGateway({
      env: {
        GATEWAY_COOKIE_DOMAINS: '.a.test,.b.example',
        // nginx listens on this test's own port: named, as an operator names a non-default port.
        GATEWAY_REDIRECT_DOMAINS: `.a.test:${port},.b.example:${port}`,
        GATEWAY_ACCESS_TOKEN_TTL: '3',
        GATEWAY_HOST_RULES: JSON.stringify([{ host: 'admin.a.test', allowed_groups: ['ops'] }]),
        GATEWAY_GROUPS: JSON.stringify({ ops: ['boss@a.test'] }),
      },
    });
    app = await startEchoApp();
    const { conf, files } = shippedNginxConfig({
      listenPort: port,
      gatewayPort: new URL(gw.issuer).port,
      appPort: app.port,
      serverNames: 'app.a.test app.b.example admin.a.test',
    });
    nginx = await startNginx(port, conf, files);
  });
  after(async () => {
    await nginx?.stop();
    await app?.close();
    await gw?.close();
    await dispatcher.close();
  });

  /** Opens `url` in `browser`, signing in at the fake Google if sent there; returns the app's echo. */
  async function visit(browser: Browser, url: string, identity = { email: 'ada@a.test', name: 'Ada' }) {
    let hop = await browser.follow(url, (next) => next.href.startsWith(gw.google.issuer));
    if (hop.location) {
      const back = await signInAtFakeGoogle(hop.location.href, (u, init) => browser.fetch(u, init), identity);
      hop = await browser.follow(back);
    }
    return hop;
  }

  it('sends a browser through sign-in and back to rd, with the identity headers', async () => {
    const browser = newBrowser();
    const { response, url } = await visit(browser, `${A()}/hello?x=1`);
    assert.equal(response.status, 200);
    assert.equal(url.href, `${A()}/hello?x=1`, 'landed back at rd');
    const echo = (await response.json()) as Echo;
    assert.equal(echo.headers['x-auth-request-email'], 'ada@a.test');
    assert.equal(echo.headers['x-auth-request-preferred-username'], 'ada');
    assert.ok(echo.headers['x-auth-request-user']);
    // the app can verify who the user is offline: a gateway JWT for this host
    const jwks = (await (await fetch(`${gw.issuer}/jwks`)).json()) as { keys: [] };
    const { payload } = await jwtVerify(echo.headers['x-auth-request-access-token'] ?? '', createLocalJWKSet(jwks), {
      issuer: gw.issuer,
      audience: A(),
      typ: 'at+jwt',
    });
    assert.equal(payload.sub, echo.headers['x-auth-request-user']);
    const cookie = browser.cookies(`${A()}/`).find((c) => c.name === '_gateway_auth');
    assert.equal(cookie?.domain, 'a.test', 'the cookie is set for the configured domain');
  });

  it('answers an API request with a JSON 401 instead of a sign-in page', async () => {
    const response = await newBrowser().fetch(`${A()}/api/data`, { headers: { accept: 'application/json' } });
    assert.equal(response.status, 401);
    assert.match(response.headers.get('content-type') ?? '', /json/);
  });

  it('signs the second domain in without a new request to Google, then signs out of both', async () => {
    const browser = newBrowser();
    await visit(browser, `${A()}/one`, { email: 'sso@a.test', name: 'Sso' });
    const before = gw.google.idp.counters.authorization;
    const second = await visit(browser, `${B()}/two`);
    assert.equal(second.response.status, 200);
    assert.equal(((await second.response.json()) as Echo).headers['x-auth-request-email'], 'sso@a.test');
    assert.equal(gw.google.idp.counters.authorization, before, 'no new authorization request at Google');
    assert.ok(browser.cookies(`${B()}/`).some((c) => c.name === '_gateway_auth' && c.domain === 'b.example'));

    const out = await browser.fetch(`${A()}/oauth2/sign_out?rd=/bye`);
    const signedOutAt = Date.now();
    assert.equal(out.status, 302);
    assert.equal(out.headers.get('location'), '/bye');
    // a.test's cookie is gone from the browser; b.example's is not, and nginx may answer its
    // check from the shipped one-second cache until that second ends: never later.
    await new Promise((resolve) => setTimeout(resolve, signedOutAt + 1_050 - Date.now()));
    for (const origin of [A(), B()]) {
      const after = await browser.fetch(`${origin}/again`, { headers: { accept: 'application/json' } });
      assert.equal(after.status, 401, `${origin} refuses 1 s after sign-out`);
    }
    // b.example still holds its old cookie: nginx must refuse it too (checked above), and the
    // next sign-in goes to Google again
    const again = await browser.follow(`${B()}/again`, (next) => next.href.startsWith(gw.google.issuer));
    assert.ok(again.location, 'sent to Google again');
  });

  it('refreshes an expired cookie JWT transparently and hands the new cookie to the browser', async () => {
    const browser = newBrowser();
    await visit(browser, `${A()}/first`, { email: 'refresh@a.test', name: 'R' });
    const first = browser.cookies(`${A()}/`).find((c) => c.name === '_gateway_auth')?.value;
    await new Promise((resolve) => setTimeout(resolve, 3500));
    const response = await browser.fetch(`${A()}/later`);
    assert.equal(response.status, 200);
    assert.equal(((await response.json()) as Echo).headers['x-auth-request-email'], 'refresh@a.test');
    const second = browser.cookies(`${A()}/`).find((c) => c.name === '_gateway_auth')?.value;
    assert.ok(second && second !== first, 'a new cookie came with the answer');
    const third = await browser.fetch(`${A()}/even-later`);
    assert.equal(third.status, 200);
  });

  it('refuses a signed-in user a host whose rule they do not meet (403), admits one who does', async () => {
    const browser = newBrowser();
    await visit(browser, `${A()}/x`, { email: 'worker@a.test', name: 'W' });
    const denied = await browser.fetch(`${ADMIN()}/panel`);
    assert.equal(denied.status, 403);
    const boss = newBrowser();
    await visit(boss, `${A()}/x`, { email: 'boss@a.test', name: 'Boss' });
    const allowed = await boss.fetch(`${ADMIN()}/panel`);
    assert.equal(allowed.status, 200);
    assert.equal(((await allowed.json()) as Echo).headers['x-auth-request-groups'], 'ops');
  });

  it('answers repeated checks from its one-second cache, 202s only, never past the second', async () => {
    const browser = newBrowser();
    await visit(browser, `${A()}/x`, { email: 'cached@a.test', name: 'C' });
    const checks: string[] = [];
    const count = (req: IncomingMessage) => {
      if (req.url?.startsWith('/oauth2/auth')) checks.push(req.url);
    };
    gw.app.server.on('request', count);
    try {
      const started = Date.now();
      for (let i = 0; i < 20; i += 1) assert.equal((await browser.fetch(`${A()}/page-${i}`)).status, 200);
      const seconds = Math.ceil((Date.now() - started) / 1000) + 1;
      // one check per second reaches the gateway, not one per page
      assert.ok(checks.length <= seconds, `${checks.length} of 20 checks reached the gateway in ${seconds} s`);
      // in another second the gateway is asked again
      await new Promise((resolve) => setTimeout(resolve, 1_100));
      const before = checks.length;
      assert.equal((await browser.fetch(`${A()}/later`)).status, 200);
      assert.equal(checks.length, before + 1, 'a new second asks the gateway again');
      // a refusal is never kept: each one is the gateway's
      const refusals = checks.length;
      const stranger = newBrowser();
      for (let i = 0; i < 3; i += 1)
        assert.equal((await stranger.fetch(`${A()}/page`, { headers: { accept: 'application/json' } })).status, 401);
      assert.equal(checks.length, refusals + 3, 'every 401 came from the gateway');
    } finally {
      gw.app.server.off('request', count);
    }
  });

  it('keeps its connections to the gateway alive: checks do not each open one', async () => {
    const browser = newBrowser();
    await visit(browser, `${A()}/x`, { email: 'keepalive@a.test', name: 'K' });
    let opened = 0;
    const count = () => {
      opened += 1;
    };
    gw.app.server.on('connection', count);
    try {
      for (let i = 0; i < 30; i += 1) assert.equal((await browser.fetch(`${A()}/page-${i}`)).status, 200);
    } finally {
      gw.app.server.off('connection', count);
    }
    // nginx reuses idle upstream connections (`keepalive` in the shipped config); without it,
    // each of the 30 checks is a new TCP connection to the gateway.
    assert.ok(opened <= 2, `${opened} connections opened for 30 checks`);
  });

  it('lets an ops user open a WebSocket to Flower through nginx, and refuses others', async () => {
    // The app plays Flower: it accepts the upgrade and echoes what it is sent.
    const upgraded = (_req: unknown, socket: Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
      socket.on('data', (data) => socket.write(data));
      sockets.push(socket);
    };
    const sockets: Socket[] = [];
    app.server.on('upgrade', upgraded);
    const openSocket = (browser: Browser) =>
      new Promise<{ status: number; echo?: string }>((resolve, reject) => {
        const cookie = browser
          .cookies(`${A()}/flower/`)
          .map((c) => `${c.name}=${c.value}`)
          .join('; ');
        const req = httpRequest({
          host: '127.0.0.1',
          port,
          path: '/flower/api/socket',
          headers: {
            host: `app.a.test:${port}`,
            connection: 'Upgrade',
            upgrade: 'websocket',
            'sec-websocket-version': '13',
            'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
            cookie,
          },
        });
        req.on('upgrade', (response, socket) => {
          socket.once('data', (data) => {
            resolve({ status: response.statusCode ?? 0, echo: data.toString() });
            socket.destroy();
          });
          socket.write('ping');
        });
        req.on('response', (response) => {
          response.resume();
          resolve({ status: response.statusCode ?? 0 });
        });
        req.on('error', reject);
        req.end();
      });
    try {
      const ops = newBrowser();
      await visit(ops, `${A()}/x`, { email: 'boss@a.test', name: 'Boss' });
      assert.deepEqual(await openSocket(ops), { status: 101, echo: 'ping' });
      const worker = newBrowser();
      await visit(worker, `${A()}/x`, { email: 'worker@a.test', name: 'W' });
      assert.equal((await openSocket(worker)).status, 403);
    } finally {
      app.server.off('upgrade', upgraded);
      // An upgraded socket is the handler's own: the server's close would wait for it.
      for (const socket of sockets) socket.destroy();
    }
  });

  it('never lets client-sent identity headers reach the app', async () => {
    const forged = {
      'X-Auth-Request-User': 'evil',
      'X-Auth-Request-Email': 'evil@evil.example',
      'x-auth-request-preferred-username': 'evil',
      'X-Auth-Request-Groups': 'ops',
      'X-Auth-Request-Access-Token': 'forged',
      X_Auth_Request_User: 'evil',
      X_Auth_Request_Email: 'evil@evil.example',
      x_auth_request_access_token: 'forged',
      'X-User': 'evil',
      X_User: 'evil',
      'X-Email': 'evil@evil.example',
    };
    // not signed in: forged headers do not get anyone in
    const anonymous = await newBrowser().fetch(`${A()}/secret`, { headers: { ...forged, accept: 'application/json' } });
    assert.equal(anonymous.status, 401);
    // signed in: the app sees the gateway's values only
    const browser = newBrowser();
    await visit(browser, `${A()}/x`, { email: 'honest@a.test', name: 'H' });
    const response = await browser.fetch(`${A()}/secret`, { headers: forged });
    const echo = (await response.json()) as Echo;
    const received = JSON.stringify(echo.headers);
    assert.doesNotMatch(received, /evil|forged/);
    assert.equal(echo.headers['x-auth-request-email'], 'honest@a.test');
    assert.equal(echo.headers['x-auth-request-groups'], undefined);
    for (const name of Object.keys(echo.headers))
      assert.ok(!name.includes('_'), `underscore header ${name} reached the app`);
  });

  it('does not let a client skip authentication with its own X-Forwarded-Uri or User-Agent', async () => {
    const response = await newBrowser().fetch(`${A()}/private`, {
      headers: {
        'X-Forwarded-Uri': '/oauth2/start',
        'X-Original-URI': '/healthz',
        'User-Agent': 'ELB-HealthChecker/2.0',
        accept: 'application/json',
      },
    });
    assert.equal(response.status, 401);
  });
});
