/**
 * Repeated forward-auth checks are answered before Fastify (gateway/forward-auth/check-replay.ts).
 * These checks go through the gateway's real HTTP server, where the replay lives, and prove that
 * a repeat gets what the route would answer: the same 202 byte for byte, nothing once the session
 * is signed out or the token has expired, and never a 202 for a host, proxy header, query or
 * token the route did not decide it for.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/** One GET with exactly these headers (Host included), over a fresh connection. */
function check(url: string, headers: Record<string, string>): Promise<Answer> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({
      host: target.hostname,
      port: target.port,
      path: `${target.pathname}${target.search}`,
      headers,
    });
    req.on('response', (response) => {
      response.resume();
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The headers that carry the decision (not Date, not the connection's). */
function decision(answer: Answer): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(answer.headers).filter(([name]) => name.startsWith('x-auth-request-') || name === 'set-cookie'),
  );
}

describe('repeated forward-auth checks, answered before Fastify', () => {
  let gw: StartedGateway;
  let host: string;

  before(async () => {
    // 2 s tokens, so a test can wait for one to expire; groups for the query-policy case.
    gw = await startGateway({
      env: {
        GATEWAY_ACCESS_TOKEN_TTL: '2',
        GATEWAY_GROUPS: JSON.stringify({ ops: ['boss@example.com', '한국@example.com'], 개발팀: ['한국@example.com'] }),
      },
    });
    host = new URL(gw.url).host;
  });
  after(async () => {
    await gw?.close();
  });

  async function signIn(email: string): Promise<{ browser: Browser; cookie: string }> {
    const browser = createBrowser();
    const start = await browser.follow(`${gw.url}/oauth2/start?rd=/`, (url) => url.href.startsWith(gw.google.issuer));
    const back = await signInAtFakeGoogle(start.location?.href ?? '', (u, init) => browser.fetch(u, init), { email });
    await browser.follow(back);
    const cookie = browser
      .cookies(`${gw.url}/`)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    return { browser, cookie };
  }

  it('answers a repeat with the same 202, and refuses it from the moment the session is signed out', async () => {
    const { browser, cookie } = await signIn('ada@example.com');
    const first = await check(`${gw.url}/oauth2/auth`, { host, cookie });
    assert.equal(first.status, 202);
    for (let i = 0; i < 3; i += 1) {
      const again = await check(`${gw.url}/oauth2/auth`, { host, cookie });
      assert.equal(again.status, 202);
      assert.deepEqual(decision(again), decision(first));
      assert.equal(again.headers['content-length'], '0');
    }
    assert.equal((await browser.fetch(`${gw.url}/oauth2/sign_out`)).status, 302);
    assert.equal((await check(`${gw.url}/oauth2/auth`, { host, cookie })).status, 401, 'signed out: no replay');
  });

  it('does not replay past the token: an expired cookie JWT is refreshed by the route', async () => {
    const { cookie } = await signIn('expiry@example.com');
    assert.equal((await check(`${gw.url}/oauth2/auth`, { host, cookie })).status, 202);
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    const later = await check(`${gw.url}/oauth2/auth`, { host, cookie });
    assert.equal(later.status, 202);
    const setCookie = later.headers['set-cookie'];
    assert.ok(Array.isArray(setCookie) && setCookie.some((line) => line.startsWith('_gateway_auth=')), 'a new cookie');
  });

  it('decides again for another host, another query, a client-sent X-Forwarded-Host or another token', async () => {
    const { cookie } = await signIn('worker@example.com');
    assert.equal((await check(`${gw.url}/oauth2/auth`, { host, cookie })).status, 202);
    assert.equal((await check(`${gw.url}/oauth2/auth`, { host, cookie })).status, 202);
    // A group this user is not in: the route's 403, not the kept 202.
    assert.equal((await check(`${gw.url}/oauth2/auth?allowed_groups=ops`, { host, cookie })).status, 403);
    // A host forward auth does not serve.
    assert.equal((await check(`${gw.url}/oauth2/auth`, { host: 'evil.test', cookie })).status, 403);
    // The test client is a trusted proxy (loopback): its X-Forwarded-Host names the host served.
    assert.equal((await check(`${gw.url}/oauth2/auth`, { host, cookie, 'x-forwarded-host': 'evil.test' })).status, 403);
    // The same cookie with one character of its token changed.
    const forged = cookie.replace(
      /(_gateway_auth=[^.]+\.[^.]+\.)(.)/,
      (_m, head: string, c: string) => `${head}${c === 'A' ? 'B' : 'A'}`,
    );
    assert.notEqual(forged, cookie);
    assert.equal((await check(`${gw.url}/oauth2/auth`, { host, cookie: forged })).status, 401);
    // And the original still passes.
    assert.equal((await check(`${gw.url}/oauth2/auth`, { host, cookie })).status, 202);
  });

  it('an address or group beyond ASCII stays out of the headers (it cannot be one), and nothing breaks', async () => {
    const { cookie } = await signIn('한국@example.com');
    for (let i = 0; i < 3; i += 1) {
      const answer = await check(`${gw.url}/oauth2/auth`, { host, cookie });
      assert.equal(answer.status, 202, 'the route and its replay both answer');
      assert.equal(answer.headers['x-auth-request-email'], undefined);
      assert.equal(answer.headers['x-auth-request-groups'], 'ops');
      assert.ok(answer.headers['x-auth-request-access-token'], 'the token carries the full address');
    }
    const only = await check(`${gw.url}/oauth2/auth?allowed_groups=%EA%B0%9C%EB%B0%9C%ED%8C%80`, { host, cookie });
    assert.equal(only.status, 202, 'a rule still reads the group from the token');
    assert.equal((await check(`${gw.url}/healthz`, { host })).status, 200, 'the gateway is still up');
  });

  it('leaves everything but a plain GET of /oauth2/auth to the route', async () => {
    const { cookie } = await signIn('methods@example.com');
    assert.equal((await check(`${gw.url}/oauth2/auth`, { host, cookie })).status, 202);
    // A path that only starts like the check's is not the check.
    assert.equal((await check(`${gw.url}/oauth2/authx`, { host, cookie })).status, 404);
    assert.equal((await check(`${gw.url}/oauth2/auth/`, { host, cookie })).status, 404);
  });
});
