/**
 * The token endpoints are answered straight from Node's `request` event, before Fastify
 * (gateway/provider/provider-fast-lane.ts). What Fastify did for them must hold on that lane too,
 * over real HTTP (an `inject` never takes it): the client's address is believed from
 * X-Forwarded-For only when the peer is a trusted proxy, every answer is counted in the metrics
 * under its endpoint, and what the lane leaves to Fastify (other spellings of the path, an
 * oversized declared body) is answered there as before.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const WRONG = `Basic ${Buffer.from('no-such-client:wrong').toString('base64')}`;
const FORM = { 'content-type': 'application/x-www-form-urlencoded', authorization: WRONG };

/** A client-credentials request with a wrong secret, as if forwarded for `from`. */
async function failedToken(gw: StartedGateway, from: string, path = '/token'): Promise<number> {
  const answer = await fetch(`${gw.url}${path}`, {
    method: 'POST',
    headers: { ...FORM, 'x-forwarded-for': from },
    body: 'grant_type=client_credentials',
  });
  await answer.arrayBuffer();
  return answer.status;
}

/** Sends `raw` over a socket and resolves with the whole answer (the server closes). */
function rawAnswer(url: string, raw: string): Promise<string> {
  const { port, hostname } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.write(raw));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
  });
}

describe('the token endpoints before Fastify', () => {
  let untrusted: StartedGateway;
  let trusted: StartedGateway;
  before(async () => {
    // Loopback is not a trusted proxy here: X-Forwarded-For from the test must be ignored.
    untrusted = await startGateway({
      env: { GATEWAY_TRUSTED_PROXIES: '10.9.9.9', GATEWAY_CLIENT_FAILURE_LIMIT: '3' },
    });
    // The default: loopback (nginx on the same host) is trusted.
    trusted = await startGateway({ env: { GATEWAY_CLIENT_FAILURE_LIMIT: '3' } });
  });
  after(async () => {
    await untrusted?.close();
    await trusted?.close();
  });

  it('ignores X-Forwarded-For from a peer that is no trusted proxy', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push(await failedToken(untrusted, `203.0.113.${i + 1}`));
    assert.deepEqual(statuses, [401, 401, 401, 429], 'every failure counted against the one real address');
  });

  it('believes X-Forwarded-For from a trusted proxy', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i += 1) statuses.push(await failedToken(trusted, `203.0.113.${i + 1}`));
    assert.deepEqual(statuses, [401, 401, 401, 401, 401], 'each forwarded address has its own count');
  });

  it('counts every answer under its endpoint in the metrics', async () => {
    const before = await (await fetch(`${trusted.url}/metrics`)).text();
    const series = 'gateway_http_requests_total{method="POST",route="/token",status="401"}';
    const count = (text: string) =>
      Number(
        text
          .split('\n')
          .find((line) => line.startsWith(series))
          ?.split(' ')[1] ?? 0,
      );
    for (let i = 0; i < 3; i += 1) assert.equal(await failedToken(trusted, `198.51.100.${i + 1}`), 401);
    const after = await (await fetch(`${trusted.url}/metrics`)).text();
    assert.equal(count(after) - count(before), 3);
  });

  it('leaves other spellings of the path to Fastify, which serves them as the token endpoint', async () => {
    const answer = await fetch(`${trusted.url}/Token/`, {
      method: 'POST',
      headers: { ...FORM, 'x-forwarded-for': '192.0.2.77' },
      body: 'grant_type=client_credentials',
    });
    assert.equal(answer.status, 401);
    assert.equal(((await answer.json()) as { error: string }).error, 'invalid_client');
  });

  it('leaves an oversized declared body to Fastify, which answers 413 as OAuth error JSON', async () => {
    const { host } = new URL(trusted.url);
    for (const path of ['/token', '/device/auth']) {
      const answer = await rawAnswer(
        trusted.url,
        [
          `POST ${path} HTTP/1.1`,
          `Host: ${host}`,
          'Content-Type: application/x-www-form-urlencoded',
          'Content-Length: 1000000',
          'Connection: close',
          '',
          'grant_type=client_credentials',
        ].join('\r\n'),
      );
      assert.match(answer, /^HTTP\/1\.1 413 /, path);
      assert.match(answer, /content-type: application\/json/i, path);
      assert.match(answer, /"error":"invalid_request"/, path);
    }
  });

  it('answers a Content-Type that does not parse as the token endpoint does: OAuth error JSON', async () => {
    const { host } = new URL(trusted.url);
    const body = 'grant_type=client_credentials';
    const answer = await rawAnswer(
      trusted.url,
      [
        'POST /token HTTP/1.1',
        `Host: ${host}`,
        'Content-Type: foo',
        `Authorization: ${WRONG}`,
        `Content-Length: ${body.length}`,
        'Connection: close',
        '',
        body,
      ].join('\r\n'),
    );
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /content-type: application\/json/i);
    assert.match(answer, /"error":"invalid_request"/);
  });
});
