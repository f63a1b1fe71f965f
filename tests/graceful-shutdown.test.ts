/**
 * Graceful shutdown of the real process (`node gateway/main.ts`, as `npm start` and the Docker
 * image run it), with requests in flight: SIGTERM stops accepting connections, lets the requests
 * in flight finish, closes the store and exits 0; past GATEWAY_SHUTDOWN_TIMEOUT it exits anyway;
 * a second SIGTERM exits at once.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.ts';
import { freePort } from './helpers/start-gateway.ts';

const running: GatewayProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'gateway-shutdown-'));
after(async () => {
  for (const gw of running) await gw.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** Starts `node gateway/main.ts` on a free port (dev mode, memory store) and waits until it answers. */
async function startProcess(env: Record<string, string> = {}): Promise<GatewayProcess> {
  const port = await freePort();
  const gw = await startGatewayProcess(
    {
      GATEWAY_ISSUER: `http://127.0.0.1:${port}`,
      GATEWAY_STORE: 'memory://',
      GATEWAY_LOG_LEVEL: 'info',
      GATEWAY_SHUTDOWN_TIMEOUT: '3',
      ...env,
    },
    port,
  );
  running.push(gw);
  return gw;
}

/** Opens a connection and sends the head of a POST whose body is only half there: a request in flight. */
async function requestInFlight(
  port: number,
  path: string,
  body: string,
): Promise<{ socket: Socket; finish(): void; response: Promise<string> }> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let text = '';
  const response = new Promise<string>((resolve) => {
    socket.on('data', (chunk: Buffer) => (text += chunk.toString()));
    socket.on('close', () => resolve(text));
    socket.on('error', () => resolve(text));
  });
  const half = Math.floor(body.length / 2);
  socket.write(
    `POST ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`,
  );
  return { socket, finish: () => socket.write(body.slice(half)), response };
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code === 'ECONNREFUSED'));
  });

describe('graceful shutdown of node gateway/main.ts', () => {
  it('on SIGTERM stops accepting, finishes the requests in flight, closes the store and exits 0', async () => {
    // The embedded store: SQLite removes its write-ahead log when the last connection closes.
    const database = join(dir, 'graceful.sqlite');
    const gw = await startProcess({ GATEWAY_STORE: `sqlite://${database}` });
    assert.ok(existsSync(`${database}-wal`), 'the store is open');
    const body = 'grant_type=client_credentials&client_id=nobody&client_secret=none-at-all';
    const inFlight = await requestInFlight(gw.port, '/token', body);
    const second = await requestInFlight(gw.port, '/token', body);
    await sleep(200); // both are inside their handlers, waiting for the rest of the body
    gw.signal('SIGTERM');
    await sleep(300);
    assert.equal(gw.child.exitCode, null, 'still running while requests are in flight');
    assert.ok(await refused(gw.port), 'a new connection is refused');
    inFlight.finish();
    second.finish();
    const [answer, answer2] = await Promise.all([inFlight.response, second.response]);
    assert.match(answer, /^HTTP\/1\.1 401 /, 'the request in flight got its real answer');
    assert.match(answer, /"error":"invalid_client"/);
    assert.match(answer2, /^HTTP\/1\.1 401 /);
    const exit = await gw.exited;
    assert.equal(exit.code, 0);
    assert.ok(exit.ms < 3000, `exited ${exit.ms} ms after SIGTERM, without waiting for the deadline`);
    const messages = gw.logs.map((line) => line['msg']);
    assert.ok(messages.includes('shutting down: finishing the requests in flight'));
    assert.ok(messages.includes('stopped: requests in flight finished, store closed'));
    assert.ok(!existsSync(`${database}-wal`), 'the store was closed (its write-ahead log checkpointed and removed)');
  });

  it('exits at the deadline when a request never finishes', async () => {
    const gw = await startProcess({ GATEWAY_SHUTDOWN_TIMEOUT: '1' });
    const stuck = await requestInFlight(gw.port, '/token', 'grant_type=client_credentials&client_id=x');
    await sleep(200);
    gw.signal('SIGTERM');
    const exit = await gw.exited;
    assert.equal(exit.code, 1);
    assert.ok(exit.ms >= 900 && exit.ms < 2500, `exited ${exit.ms} ms after SIGTERM (deadline 1 s)`);
    assert.ok(
      gw.logs.some((line) => line['msg'] === 'shutdown deadline passed: exiting with requests still in flight'),
    );
    stuck.socket.destroy();
  });

  it('exits at once on a second SIGTERM', async () => {
    const database = join(dir, 'abrupt.sqlite');
    const gw = await startProcess({ GATEWAY_SHUTDOWN_TIMEOUT: '30', GATEWAY_STORE: `sqlite://${database}` });
    const stuck = await requestInFlight(gw.port, '/token', 'grant_type=client_credentials&client_id=x');
    await sleep(200);
    gw.signal('SIGTERM');
    await sleep(200);
    assert.equal(gw.child.exitCode, null, 'the first SIGTERM waits for the request in flight');
    gw.signal('SIGTERM');
    const exit = await gw.exited;
    assert.equal(exit.code, 1);
    assert.ok(exit.ms < 1500, `exited ${exit.ms} ms after the first SIGTERM`);
    assert.ok(gw.logs.some((line) => line['msg'] === 'second signal: exiting now'));
    assert.ok(existsSync(`${database}-wal`), 'not waiting for anything, not even the store');
    stuck.socket.destroy();
  });
});
