/**
 * The proxies this machine cannot run (Traefik, Kubernetes ingress-nginx), by the exact requests
 * they send to `/oauth2/auth` (docs/PROXIES.md): Traefik's ForwardAuth (the X-Forwarded-* set,
 * the request to the gateway's own host) and ingress-nginx's `auth-url` subrequest (the whole
 * URL in X-Original-URL, the app's host). Path rules hold through both, whatever the spelling,
 * and a URL naming another host than the one judged is refused.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createBrowser } from './helpers/browser.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  redeem,
  startAuthorization,
} from './helpers/relying-party.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

/** The protected origin: its scheme follows the issuer's (plain http in tests). */
const ORIGIN = 'http://app.proxy.test';

/** One GET of /oauth2/auth with exactly these headers (Host included), as the proxy sends it. */
function check(gatewayPort: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: gatewayPort, path: '/oauth2/auth', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('Traefik ForwardAuth and ingress-nginx auth-url, by the requests they send', () => {
  let gw: StartedGateway;
  let port = '';
  const tokens: Record<string, string> = {};

  before(async () => {
    gw = await startGateway({
      env: {
        GATEWAY_REDIRECT_DOMAINS: 'app.proxy.test',
        GATEWAY_GROUPS: JSON.stringify({ ops: ['boss@proxy.test'] }),
        GATEWAY_HOST_RULES: JSON.stringify([{ host: 'app.proxy.test', path: '/reports', allowed_groups: ['ops'] }]),
      },
      clients: [confidentialClient('api-caller', { resources: [ORIGIN] })],
    });
    port = new URL(gw.issuer).port;
    const app = await discoverApp(gw.issuer, confidentialClient('api-caller', { resources: [ORIGIN] }));
    // Access tokens for the protected origin, sent as Bearer tokens (an API behind the proxy).
    for (const email of ['ada@proxy.test', 'boss@proxy.test']) {
      const start = await startAuthorization(app, { resource: ORIGIN });
      const { callback } = await authorizeInBrowser(createBrowser(), app, start, gw.google.issuer, { email });
      assert.ok(callback);
      tokens[email] = (await redeem(app, start, callback)).access_token;
    }
  });
  after(async () => {
    await gw?.close();
  });

  /** Traefik: to the gateway's own address, the original request in X-Forwarded-*. */
  const traefik = (email: string, uri: string, method = 'GET') =>
    check(port, {
      host: `127.0.0.1:${port}`,
      authorization: `Bearer ${tokens[email]}`,
      'x-forwarded-method': method,
      'x-forwarded-proto': 'https',
      'x-forwarded-host': 'app.proxy.test',
      'x-forwarded-uri': uri,
      'x-forwarded-for': '203.0.113.9',
    });

  /** ingress-nginx: `auth-url: https://$host/oauth2/auth`, the whole URL in X-Original-URL. */
  const ingress = (email: string, url: string, method = 'GET') =>
    check(port, {
      host: 'app.proxy.test',
      authorization: `Bearer ${tokens[email]}`,
      'x-original-url': url,
      'x-original-method': method,
      'x-sent-from': 'nginx-ingress-controller',
      'x-real-ip': '203.0.113.9',
      'x-forwarded-for': '203.0.113.9',
      'x-forwarded-proto': 'https',
      'x-auth-request-redirect': URL.parse(url)?.pathname ?? '/',
    });

  it('Traefik: the rule of the path the X-Forwarded-Uri names', async () => {
    assert.equal(await traefik('ada@proxy.test', '/home'), 202);
    for (const uri of ['/reports', '/%72eports', '/REPORTS/2026'])
      assert.equal(await traefik('ada@proxy.test', uri), 403, uri);
    assert.equal(await traefik('boss@proxy.test', '/reports'), 202);
  });

  it('ingress-nginx: the rule of the path in X-Original-URL, and only for the host judged', async () => {
    assert.equal(await ingress('ada@proxy.test', `${ORIGIN}/home?x=1`), 202);
    for (const path of ['/reports', '/%72eports', '/home/../reports'])
      assert.equal(await ingress('ada@proxy.test', `${ORIGIN}${path}`), 403, path);
    assert.equal(await ingress('boss@proxy.test', `${ORIGIN}/reports`), 202);
    // A URL for another host than the request's: not the request being judged.
    assert.equal(await ingress('ada@proxy.test', 'https://other.proxy.test/home'), 403);
    assert.equal(await ingress('ada@proxy.test', 'not a url'), 403);
  });
});
