/**
 * The gateway's outbound calls on a client's behalf (gateway/provider/outbound-fetch.ts), driven
 * as an attacker would: a client authenticating with `private_key_jwt` makes the gateway fetch
 * its `jwks_uri`. Loopback servers stand in for an allow-listed service, for an internal
 * service nobody listed, and for a listed service that answers with a redirect to it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { lookup } from 'node:dns/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { OutboundAddressError, outboundFetch } from '../gateway/provider/outbound-fetch.ts';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

interface LoopbackServer {
  url: string;
  /** Requests received, by path. */
  hits: string[];
  close(): Promise<void>;
}

/** A server on 127.0.0.1 that records each request and answers with `answer`. */
async function loopbackServer(answer: (res: import('node:http').ServerResponse) => void): Promise<LoopbackServer> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(req.url ?? '');
    answer(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

describe('outbound fetches: allow-listed host:port only, never a redirect', () => {
  let gw: StartedGateway;
  let privateKey: CryptoKey;
  let jwks: string;
  /** Serves the client's real keys; listed in GATEWAY_OUTBOUND_PRIVATE_HOSTS. */
  let keys: LoopbackServer;
  /** An internal service nobody listed; it serves the same keys, so reaching it would let the client in. */
  let internal: LoopbackServer;
  /** Listed, but answers every request with a redirect to the internal service. */
  let bouncer: LoopbackServer;

  const client = (id: string, jwksUri: string) => ({
    client_id: id,
    token_endpoint_auth_method: 'private_key_jwt' as const,
    jwks_uri: jwksUri,
    redirect_uris: [`http://127.0.0.1:9/${id}/callback`],
    grant_types: ['authorization_code', 'refresh_token'],
  });

  before(async () => {
    const pair = await generateKeyPair('ES256');
    privateKey = pair.privateKey;
    jwks = JSON.stringify({ keys: [{ ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' }] });
    const serveKeys = (res: import('node:http').ServerResponse) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(jwks);
    keys = await loopbackServer(serveKeys);
    internal = await loopbackServer(serveKeys);
    bouncer = await loopbackServer((res) => res.writeHead(302, { location: internal.url }).end());
    gw = await startGateway({
      clients: [client('direct', keys.url), client('bounced', bouncer.url), client('unlisted', internal.url)],
      env: { GATEWAY_OUTBOUND_PRIVATE_HOSTS: `${new URL(keys.url).host},${new URL(bouncer.url).host}` },
    });
  });
  after(async () => {
    await gw?.close();
    await Promise.all([keys, internal, bouncer].map((server) => server?.close()));
  });

  /**
   * A token request authenticated by a client assertion (RFC 7523 §2.2): to check it the gateway
   * must fetch the client's jwks_uri. The refresh token is made up, so a client that does get
   * authenticated is answered `invalid_grant`, one that does not `invalid_client`.
   */
  async function authenticate(clientId: string): Promise<string> {
    const assertion = await new SignJWT({ jti: randomUUID() })
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(gw.issuer)
      .setIssuedAt()
      .setExpirationTime('1m')
      .sign(privateKey);
    const response = await fetch(`${gw.issuer}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: 'made-up',
        client_id: clientId,
        client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
        client_assertion: assertion,
      }),
    });
    return ((await response.json()) as { error: string }).error;
  }

  it('calls an allow-listed host:port (the client is authenticated with the keys found there)', async () => {
    assert.equal(await authenticate('direct'), 'invalid_grant');
    assert.equal(keys.hits.length, 1);
  });

  it('does not follow a redirect from an allow-listed service to an internal one', async () => {
    assert.equal(await authenticate('bounced'), 'invalid_client');
    assert.equal(bouncer.hits.length, 1, 'the listed service was asked');
    assert.deepEqual(internal.hits, [], 'the redirect was not followed');
  });

  it('does not call a loopback port that is not listed, though another port of that host is', async () => {
    const before = internal.hits.length;
    assert.equal(await authenticate('unlisted'), 'invalid_client');
    assert.equal(internal.hits.length, before, 'the SSRF guard dropped the connection before any request');
  });
});

describe('outbound fetches: names and addresses that lead inside, refused before a connection', () => {
  let listener: import('node:net').Server;
  let port = 0;
  let connections = 0;
  // A name that resolves to loopback through the system resolver (/etc/hosts): the machine's own.
  const name = hostname();

  before(async () => {
    listener = createNetServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => listener.listen(0, '0.0.0.0', resolve));
    port = (listener.address() as AddressInfo).port;
    const addresses = await lookup(name, { all: true });
    assert.ok(
      addresses.some(({ address }) => address.startsWith('127.') || address === '::1'),
      `this test needs the machine's host name (${name}) to resolve to a loopback address, as /etc/hosts makes it on Debian; it resolves to ${JSON.stringify(addresses)}`,
    );
  });
  after(() => new Promise<void>((resolve) => listener.close(() => resolve())));

  it('refuses a public-looking name that resolves to loopback, without connecting', async () => {
    const fetchOut = outboundFetch([]);
    await assert.rejects(fetchOut(`http://${name}:${port}/jwks`), (error: unknown) => {
      const text = `${String(error)} ${String((error as { cause?: unknown }).cause)}`;
      assert.match(text, /resolves to .* a loopback address, which the gateway does not call/);
      return true;
    });
    assert.equal(connections, 0, 'no connection was opened, so nothing was sent and no port was probed');
  });

  it('refuses IPv6 forms that carry a loopback IPv4 address inside', async () => {
    const fetchOut = outboundFetch([]);
    for (const host of [
      '[64:ff9b::7f00:1]',
      '[2002:7f00:1::]',
      '[::127.0.0.1]',
      '[::ffff:127.0.0.1]',
      '127.1',
      '0x7f.0.0.1',
    ]) {
      await assert.rejects(fetchOut(`http://${host}:${port}/jwks`), OutboundAddressError, host);
    }
    assert.equal(connections, 0);
  });

  it('calls that name when the operator allow-listed its host:port', async () => {
    const fetchOut = outboundFetch([`${name.toLowerCase()}:${port}`]);
    await assert.rejects(
      fetchOut(`http://${name}:${port}/jwks`),
      (error: unknown) => !(error instanceof OutboundAddressError),
    );
    assert.equal(connections, 1, 'the listed service was reached (it hung up at once)');
  });
});
