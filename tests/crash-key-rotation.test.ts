/**
 * A key rotation killed half-way still adds exactly one key pair.
 *
 * `npx gateway keys rotate` runs as its own process against a Redis this test owns, with key
 * generation made to hang (tests/helpers/stall-key-generation.ts), so it is killed with SIGKILL
 * while it holds the rotation lock, before it has written anything. A rerun of the command must
 * then rotate within about one lease of the lock (3 s, with-lock.ts), not wait out a long timeout,
 * and add one pair; a third run adds none (one is pending); the running gateway publishes the new
 * pair. The ring is one sealed record written at once, so there is no half-written ring to find.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { LOCK_LEASE_MS } from '../adapters/with-lock.ts';
import { ROOT } from './helpers/gateway-process.ts';
import { redisCommand, startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { startGateway, TEST_SECRET, type StartedGateway } from './helpers/start-gateway.ts';

/** What tests/helpers/stall-key-generation.ts prints once key generation hangs (not imported: that would patch this process). */
const STALLED = 'key generation stalled';

describe('key rotation: the rotating process killed while it holds the lock', () => {
  let redis: RedisServer;
  let gw: StartedGateway;
  const env = () => ({
    PATH: process.env['PATH'] ?? '',
    GATEWAY_STORE: redis.url,
    GATEWAY_SECRETS: TEST_SECRET,
    GATEWAY_KEY_ROLL_IN: '600',
  });

  before(async () => {
    redis = await startRedisServer();
    // A running gateway on the same store: it made the first keys and must see the one new pair.
    gw = await startGateway({ env: { GATEWAY_STORE: redis.url, GATEWAY_KEY_ROLL_IN: '600' } });
  });
  after(async () => {
    await gw?.close();
    await redis?.close();
  });

  const cli = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['bin/gateway.ts', ...args],
        { cwd: ROOT, env: env(), timeout: 30_000 },
        (error, stdout, stderr) => {
          resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
        },
      );
    });
  const list = async () => {
    const result = await cli('keys', 'list', '--json');
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as Array<{ kid: string; alg: string; status: string }>;
  };

  it('a rerun rotates within one lease of the kill, and one pair is added in all', async (t) => {
    const before = await list();
    assert.deepEqual(before.map((k) => `${k.alg}:${k.status}`).sort(), ['ES256:current', 'RS256:current']);

    // The first rotation hangs in key generation, holding the lock, and is killed there.
    const doomed = spawn(
      process.execPath,
      ['--import', './tests/helpers/stall-key-generation.ts', 'bin/gateway.ts', 'keys', 'rotate'],
      {
        cwd: ROOT,
        env: env(),
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      doomed.once('exit', (_code, signal) => resolve(signal)),
    );
    try {
      await new Promise<void>((resolve, reject) => {
        let stderr = '';
        doomed.stderr?.on('data', (chunk: Buffer) => {
          stderr += chunk.toString();
          if (stderr.includes(STALLED)) resolve();
        });
        doomed.once('exit', (code) =>
          reject(new Error(`the rotation exited (${code}) before generating keys: ${stderr}`)),
        );
      });
      assert.equal(
        await redisCommand(redis.port, ['EXISTS', 'gateway:lock:keys:rotate']),
        '1',
        'it holds the rotation lock',
      );
    } finally {
      doomed.kill('SIGKILL');
    }
    assert.equal(await exited, 'SIGKILL');
    const killedAt = performance.now();

    const rerun = await cli('keys', 'rotate', '--json');
    const ms = Math.round(performance.now() - killedAt);
    assert.equal(rerun.code, 0, rerun.stderr);
    const rotated = JSON.parse(rerun.stdout) as { rotated: boolean; kids: string[] };
    assert.equal(rotated.rotated, true, 'the rerun rotated');
    t.diagnostic(`the rerun rotated ${ms} ms after the first rotation was killed (lease ${LOCK_LEASE_MS} ms)`);
    process.stderr.write(`# crash mid key rotation: rerun done ${ms} ms after the kill\n`);
    // Node's start-up and the CLI's own work come on top of the lease.
    assert.ok(ms < LOCK_LEASE_MS + 4_000, `not a long timeout (${ms} ms)`);

    const third = JSON.parse((await cli('keys', 'rotate', '--json')).stdout) as { rotated: boolean; kids: string[] };
    assert.equal(third.rotated, false, 'a pending pair is not doubled');
    assert.deepEqual([...third.kids].sort(), [...rotated.kids].sort());

    const afterwards = await list();
    assert.equal(afterwards.length, 4, 'the first pair and exactly one new pair');
    assert.deepEqual(
      afterwards
        .filter((k) => k.status === 'next')
        .map((k) => k.kid)
        .sort(),
      [...rotated.kids].sort(),
    );
    assert.deepEqual(
      afterwards
        .filter((k) => k.status === 'current')
        .map((k) => k.kid)
        .sort(),
      before.map((k) => k.kid).sort(),
    );

    // The running gateway heard the rotation and publishes the new pair beside the current one.
    const deadline = Date.now() + 5_000;
    let published: string[] = [];
    while (Date.now() < deadline) {
      published = ((await (await fetch(`${gw.url}/jwks`)).json()) as { keys: Array<{ kid: string }> }).keys.map(
        (k) => k.kid,
      );
      if (published.length === 4) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    assert.deepEqual(published.sort(), afterwards.map((k) => k.kid).sort());
  });
});
