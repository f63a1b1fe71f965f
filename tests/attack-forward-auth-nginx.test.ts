/**
 * Attacks on forward auth through the shipped nginx config (examples/nginx/gateway.conf, filled in
 * as a user would): hostile forwarded headers from the client, a Bearer token carried to another
 * host, a sign-out triggered from another site or with a token that is not the session's cookie,
 * and oauth2-proxy's per-location query parameters (a typo must fail closed).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
// undici's request(), not fetch(): the Fetch standard forbids setting Host, and fetch drops it.
import { fetch as undiciFetch, request as undiciRequest } from 'undici';
import { createBrowser, loopbackDispatcher, type Browser } from './helpers/browser.ts';
import { startEchoApp } from './helpers/echo-app.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { startLoggedGateway, type LoggedGateway } from './helpers/logged-gateway.ts';
import { shippedNginxConfig, startNginx, type RunningNginx } from './helpers/nginx.ts';
import { freePort } from './helpers/start-gateway.ts';

interface Echo {
  path: string;
  headers: Record<string, string>;
}

describe('attacks on forward auth through the shipped nginx config', () => {
  let gw: LoggedGateway;
  let nginx: RunningNginx;
  let app: Awaited<ReturnType<typeof startEchoApp>>;
  let port: number;
  const access: Array<Record<string, unknown>> = [];
  const dispatcher = loopbackDispatcher();
  const newBrowser = () => createBrowser({ dispatcher });
  const A = () => `http://app.a.test:${port}`;
  const B = () => `http://app.b.example:${port}`;
  const ADMIN = () => `http://admin.a.test:${port}`;

  before(async () => {
    port = await freePort();
    gw = await startLoggedGateway({
      env: {
        GATEWAY_COOKIE_DOMAINS: '.a.test,.b.example',
        // nginx listens on this test's own port: named, as an operator names a non-default port.
        GATEWAY_REDIRECT_DOMAINS: `.a.test:${port},.b.example:${port}`,
        GATEWAY_HOST_RULES: JSON.stringify([{ host: 'admin.a.test', allowed_groups: ['ops'] }]),
        GATEWAY_GROUPS: JSON.stringify({ ops: ['boss@a.test'] }),
      },
      accessLog: (line) => access.push(JSON.parse(line) as Record<string, unknown>),
    });
    app = await startEchoApp();
    // A location a user might write with a typo in oauth2-proxy's parameter (allowed_group).
    const typo = `
  location = /oauth2/auth/typo {
    internal;
    proxy_pass http://gateway_backend/oauth2/auth?allowed_group=ops;
    proxy_set_header Host $host;
    proxy_set_header X-Forwarded-Host $host;
    proxy_set_header Content-Length "";
    proxy_pass_request_body off;
  }
  location /typo/ {
    auth_request /oauth2/auth/typo;
    proxy_pass http://app_backend;
  }`;
    const { conf, files } = shippedNginxConfig({
      listenPort: port,
      gatewayPort: new URL(gw.issuer).port,
      appPort: app.port,
      serverNames: 'app.a.test app.b.example admin.a.test',
      extraLocations: typo.replaceAll('$host', '$http_host'),
    });
    nginx = await startNginx(port, conf, files);
  });
  after(async () => {
    await nginx?.stop();
    await app?.close();
    await gw?.close();
    await dispatcher.close();
  });

  async function signIn(browser: Browser, email: string) {
    let hop = await browser.follow(`${A()}/start`, (next) => next.href.startsWith(gw.google.issuer));
    assert.ok(hop.location, 'sent to the fake Google');
    const back = await signInAtFakeGoogle(hop.location.href, (u, init) => browser.fetch(u, init), {
      email,
      name: email.split('@')[0] ?? 'x',
    });
    hop = await browser.follow(back);
    assert.equal(hop.response.status, 200);
    return (await hop.response.json()) as Echo;
  }

  it('judges the host nginx served, whatever X-Forwarded-Host the client sends', async () => {
    const browser = newBrowser();
    await signIn(browser, 'worker@a.test');
    assert.equal((await browser.fetch(`${ADMIN()}/panel`)).status, 403);
    for (const forged of [`app.a.test:${port}`, 'app.a.test', `app.a.test:${port}, app.a.test:${port}`]) {
      const response = await browser.fetch(`${ADMIN()}/panel`, { headers: { 'x-forwarded-host': forged } });
      assert.equal(response.status, 403, `X-Forwarded-Host: ${forged}`);
      await response.body?.cancel();
    }
  });

  it('accepts a Bearer token only at the host it was made for, whatever X-Forwarded-Host says', async () => {
    const browser = newBrowser();
    const echo = await signIn(browser, 'bearer@a.test');
    const token = echo.headers['x-auth-request-access-token'] ?? '';
    assert.ok(token);
    const own = await newBrowser().fetch(`${A()}/api`, {
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
    });
    assert.equal(own.status, 200, 'the token works where it was minted');
    await own.body?.cancel();
    const carried = await newBrowser().fetch(`${B()}/api`, {
      headers: {
        authorization: `Bearer ${token}`,
        accept: 'application/json',
        'x-forwarded-host': `app.a.test:${port}`,
      },
    });
    assert.equal(carried.status, 401);
    await carried.body?.cancel();
  });

  it('builds the sign-in callback from the served host and the issuer scheme, not X-Forwarded-Host/-Proto', async () => {
    const response = await newBrowser().fetch(`${A()}/oauth2/start?rd=/x`, {
      headers: { 'x-forwarded-host': 'evil.a.test', 'x-forwarded-proto': 'https' },
    });
    assert.equal(response.status, 302);
    const authorize = new URL(response.headers.get('location') ?? '');
    assert.equal(authorize.searchParams.get('redirect_uri'), `${A()}/oauth2/callback`);
  });

  it('sends a signed-out browser to sign in for the URI it asked for, whatever X-Forwarded-Uri says', async () => {
    const response = await newBrowser().fetch(`${A()}/private?q=1`, {
      headers: {
        'x-forwarded-uri': '/public',
        'x-original-uri': '/public',
        'x-auth-request-redirect': 'https://evil.example/',
      },
    });
    assert.equal(response.status, 302);
    const start = new URL(response.headers.get('location') ?? '', A());
    assert.equal(start.pathname, '/oauth2/start');
    assert.equal(start.searchParams.get('rd'), `${A()}/private?q=1`);
  });

  it("logs and limits by nginx's client address, not a client-sent X-Forwarded-For", async () => {
    const before = access.length;
    const response = await newBrowser().fetch(`${A()}/oauth2/sign_in?rd=/`, {
      headers: { 'x-forwarded-for': '6.6.6.6', 'x-real-ip': '6.6.6.6' },
    });
    await response.body?.cancel();
    const lines = access.slice(before).filter((line) => line['path'] === '/oauth2/sign_in');
    assert.equal(lines.length, 1, JSON.stringify(access.slice(before)));
    assert.equal(lines[0]?.['ip'], '127.0.0.1');
    assert.doesNotMatch(JSON.stringify(access), /6\.6\.6\.6/);
  });

  it("asks before a sign-out that another site started, and signs out only with the page's form", async () => {
    const browser = newBrowser();
    await signIn(browser, 'victim@a.test');
    const cookie = browser
      .cookies(`${A()}/`)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    // Another site's link, and a client that does not say where it comes from (no Fetch Metadata).
    const crossSite = await browser.fetch(`${A()}/oauth2/sign_out?rd=/bye`, {
      headers: { 'sec-fetch-site': 'cross-site' },
    });
    const unsaid = (await undiciFetch(`${A()}/oauth2/sign_out?rd=/bye`, {
      headers: { cookie },
      redirect: 'manual',
      dispatcher,
    })) as unknown as Response;
    for (const forged of [crossSite, unsaid]) {
      assert.equal(forged.status, 200, 'a confirmation page, not a sign-out');
      assert.match(await forged.text(), /<form method="post" action="\/oauth2\/sign_out">/);
    }
    assert.equal((await browser.fetch(`${A()}/still`)).status, 200, 'still signed in');
    const page = await (
      await browser.fetch(`${A()}/oauth2/sign_out?rd=/bye`, { headers: { 'sec-fetch-site': 'cross-site' } })
    ).text();
    const csrf = /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? '';
    assert.ok(csrf, 'the page carries a CSRF token');
    // A cross-site post of the form is refused even with a token.
    const crossPost = await browser.fetch(`${A()}/oauth2/sign_out`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site' },
      body: new URLSearchParams({ csrf, rd: '/bye' }).toString(),
    });
    assert.equal(crossPost.status, 403);
    await crossPost.body?.cancel();
    assert.equal((await browser.fetch(`${A()}/still`)).status, 200, 'still signed in');
    const confirmed = await browser.fetch(`${A()}/oauth2/sign_out`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' },
      body: new URLSearchParams({ csrf, rd: '/bye' }).toString(),
    });
    assert.equal(confirmed.status, 302);
    assert.equal(confirmed.headers.get('location'), '/bye');
    const after = await browser.fetch(`${A()}/gone`, { headers: { accept: 'application/json' } });
    assert.equal(after.status, 401, 'signed out');
  });

  it("never signs anyone out with a token that is not that session's own cookie", async () => {
    const victim = newBrowser();
    const echo = await signIn(victim, 'target@a.test');
    const cookie = victim.cookies(`${A()}/`).find((c) => c.name === '_gateway_auth');
    assert.ok(cookie);
    const sessionId = cookie.value.slice(cookie.value.lastIndexOf('~') + 1);
    // The app's token for this host, and a token of another user's session with the victim's session id.
    const other = newBrowser();
    await signIn(other, 'mallory@a.test');
    const otherToken =
      other
        .cookies(`${A()}/`)
        .find((c) => c.name === '_gateway_auth')
        ?.value.split('~')[0] ?? '';
    for (const token of [echo.headers['x-auth-request-access-token'] ?? '', otherToken]) {
      for (const id of [sessionId, 'x'.repeat(43)]) {
        const attacker = newBrowser();
        attacker.setCookie(`${A()}/`, `_gateway_auth=${token}~${id}; Path=/`);
        const response = await attacker.fetch(`${A()}/oauth2/sign_out?rd=/`, {
          headers: { 'sec-fetch-site': 'same-origin' },
        });
        assert.equal(response.status, 302);
      }
    }
    assert.equal((await victim.fetch(`${A()}/still`)).status, 200, 'the victim is still signed in');
    assert.equal((await other.fetch(`${A()}/still`)).status, 200, 'so is the other user');
  });

  it("keeps the gateway's cookie away from the app, and refuses it on another domain", async () => {
    const browser = newBrowser();
    await signIn(browser, 'cookie@a.test');
    browser.setCookie(`${A()}/`, 'app_session=kept; Path=/');
    const response = await browser.fetch(`${A()}/whoami`);
    const echo = (await response.json()) as Echo;
    assert.equal(echo.headers['cookie'], 'app_session=kept', "the app gets its own cookies and not the gateway's");
    // However many of the gateway's a client sends (a browser may hold a host-only one and a
    // domain one), none reaches the app; an app cookie whose name merely ends the same way does.
    const valid = browser.cookies(`${A()}/`).find((c) => c.name === '_gateway_auth')?.value ?? '';
    const crowded = await undiciRequest(`http://127.0.0.1:${port}/whoami`, {
      headers: {
        host: `app.a.test:${port}`,
        cookie: `_gateway_auth=${valid}; my_gateway_auth=mine; __Host-_gateway_auth=junk;x=1; _gateway_auth=dup`,
      },
      dispatcher,
    });
    assert.equal(crowded.statusCode, 200);
    assert.equal(((await crowded.body.json()) as Echo).headers['cookie'], 'my_gateway_auth=mine;x=1');
    // An app (or anyone) that got hold of the a.test cookie replays it at b.example: refused.
    const cookie = browser.cookies(`${A()}/`).find((c) => c.name === '_gateway_auth');
    assert.ok(cookie);
    const replay = await newBrowser().fetch(`${B()}/stolen`, {
      headers: { cookie: `_gateway_auth=${cookie.value}`, accept: 'application/json' },
    });
    assert.equal(replay.status, 401);
    await replay.body?.cancel();
    // Within its own domain it works on every host, as the browser sends it there anyway.
    const sibling = await newBrowser().fetch(`${ADMIN()}/panel`, {
      headers: { cookie: `_gateway_auth=${cookie.value}` },
    });
    assert.equal(sibling.status, 403, 'admin.a.test judges it (the user is not in ops), it does not ignore it');
    await sibling.body?.cancel();
  });

  it("strips every other proxy's identity headers a client sends", async () => {
    const browser = newBrowser();
    await signIn(browser, 'plain@a.test');
    const forged = {
      'X-Forwarded-User': 'root',
      'X-Forwarded-Email': 'root@evil.example',
      'X-Forwarded-Groups': 'ops',
      'X-Forwarded-Preferred-Username': 'root',
      'X-Forwarded-Access-Token': 'forged',
      'Remote-User': 'root',
      'X-Remote-User': 'root',
      Forwarded: 'for=6.6.6.6;host=evil.example',
    };
    const echo = (await (await browser.fetch(`${A()}/x`, { headers: forged })).json()) as Echo;
    assert.doesNotMatch(JSON.stringify(echo.headers), /root|evil|forged|6\.6\.6\.6/);
    assert.equal(echo.headers['x-forwarded-email'], 'plain@a.test', "oauth2-proxy's name carries the gateway's value");
  });

  it('refuses a check for a host forward auth is not configured for, and a callback on a port nobody named', async () => {
    const browser = newBrowser();
    await signIn(browser, 'hosts@a.test');
    const cookie = browser.cookies(`${A()}/`).find((c) => c.name === '_gateway_auth')?.value ?? '';
    // Through nginx, a host no server block names meets the catch-all server: the connection is
    // closed (444), no app is reached.
    for (const host of ['evil.com', 'admin.a.test\\', '[admin.a.test]', 'admin%2ea.test', 'other.a.test']) {
      const answer = await undiciRequest(`http://127.0.0.1:${port}/x`, {
        headers: { host, cookie: `_gateway_auth=${cookie}` },
        dispatcher,
      }).then(
        async (response) => {
          await response.body.dump();
          return { status: response.statusCode, token: response.headers['x-auth-request-access-token'] };
        },
        () => ({ status: 0, token: undefined }),
      );
      assert.notEqual(answer.status, 200, `Host: ${host}`);
      assert.equal(answer.token, undefined);
    }
    // Asked directly (as by a proxy that passes any Host), the gateway refuses too, and its log
    // says which host it refused, and why.
    const direct = (host: string) =>
      undiciRequest(`${gw.url}/oauth2/auth`, {
        headers: { host, 'x-forwarded-host': host, cookie: `_gateway_auth=${cookie}` },
      });
    const evil = await direct('evil.com');
    assert.equal(evil.statusCode, 403);
    await evil.body.dump();
    const refused = gw.logs.find(
      (line) => line['event'] === 'forward_auth_host_not_served' && line['host'] === 'evil.com',
    );
    assert.ok(refused, 'a warning names the refused host');
    assert.match(String(refused['msg']), /GATEWAY_COOKIE_DOMAINS/);
    // A client inventing a new Host on every request does not get a log line for each.
    for (let i = 0; i < 30; i += 1) {
      const invented = await direct(`h${i}.invented.test`);
      await invented.body.dump();
    }
    const warned = gw.logs.filter((line) => String(line['host']).endsWith('.invented.test')).length;
    assert.ok(warned >= 1 && warned <= 20, `${warned} warnings for 30 invented hosts (at most 10 a minute)`);
    const start = await newBrowser().fetch(`${A()}/oauth2/start?rd=/`, {
      headers: { 'x-forwarded-host': 'app.a.test:8080' },
    });
    assert.equal(start.status, 302, 'nginx sets X-Forwarded-Host itself');
    await start.body?.cancel();
    const stolenPort = await undiciRequest(`http://127.0.0.1:${port}/oauth2/start?rd=/`, {
      headers: { host: 'app.a.test:8080' },
      dispatcher,
    });
    assert.equal(stolenPort.statusCode, 400, 'a sign-in for app.a.test:8080, a port nobody named, is refused');
    await stolenPort.body.dump();
  });

  it("enforces oauth2-proxy's allowed_groups on the documented Flower location, with host rules", async () => {
    const worker = newBrowser();
    await signIn(worker, 'crew@a.test');
    assert.equal((await worker.fetch(`${A()}/flower/`)).status, 403);
    const boss = newBrowser();
    await signIn(boss, 'boss@a.test');
    const flower = await boss.fetch(`${A()}/flower/`);
    assert.equal(flower.status, 200);
    assert.equal(((await flower.json()) as Echo).headers['x-auth-request-groups'], 'ops');
  });

  it('refuses everyone where a query parameter is unknown (a typo), and says which', async () => {
    const boss = newBrowser();
    await signIn(boss, 'boss@a.test');
    assert.equal((await boss.fetch(`${A()}/typo/`)).status, 403);
    const warning = gw.logs.find((line) => line['level'] === 40 && String(line['problem']).includes('allowed_group'));
    assert.ok(warning, 'a warning names the unknown parameter');
  });
});
