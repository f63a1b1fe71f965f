/**
 * Absolute-form request targets (`POST http://host/TOKEN HTTP/1.1`, RFC 9112 §3.2.2): Node
 * accepts them, and oidc-provider's router matches paths without regard to case, so every rule
 * in front of it must read the same path the router does. Found in a red-team pass: the client
 * failure limit never counted `POST http://host/TOKEN`, so client secrets could be guessed
 * without end. Sent over a raw socket, since fetch always sends origin-form.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

/** Sends `raw` and resolves with the status code of the answer. */
function statusOf(port: number, host: string, raw: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host, () => socket.write(raw));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
      if (answer.includes('\r\n')) {
        socket.destroy();
        resolve(Number(answer.split(' ')[1]));
      }
    });
    socket.on('error', reject);
  });
}

describe('absolute-form request targets', () => {
  let gw: StartedGateway;
  before(async () => {
    gw = await startGateway({ env: {} });
  });
  after(async () => gw?.close());

  it('count towards the client failure limit like any token request (20, then 429)', async () => {
    const { port, hostname } = new URL(gw.issuer);
    const body = 'grant_type=client_credentials';
    const request = [
      `POST http://${hostname}:${port}/TOKEN HTTP/1.1`,
      `Host: ${hostname}:${port}`,
      `Authorization: Basic ${Buffer.from('no-such-client:wrong').toString('base64')}`,
      'Content-Type: application/x-www-form-urlencoded',
      `Content-Length: ${body.length}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n');
    const statuses: number[] = [];
    for (let i = 0; i < 21; i += 1) statuses.push(await statusOf(Number(port), hostname, request));
    assert.deepEqual(statuses.slice(0, 20), Array(20).fill(401), 'refused as a token request');
    assert.equal(statuses[20], 429, 'the 21st failure is refused by the limit');
  });
});
