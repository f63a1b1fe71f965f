/**
 * What stops `npm start` (the store cannot be reached, the port is taken) ends the process with
 * one line that says what to fix, never a stack trace.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { freePort } from './helpers/start-gateway.ts';

async function start(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['gateway/main.ts'], {
    env: { PATH: process.env['PATH'] ?? '', GATEWAY_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  return { code, stderr };
}

describe('a gateway that cannot start', () => {
  it('says in one line that the store cannot be reached', async () => {
    const nobody = await freePort();
    const { code, stderr } = await start({
      GATEWAY_STORE: `redis://127.0.0.1:${nobody}/9`,
      GATEWAY_PORT: String(await freePort()),
    });
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(
      stderr,
      new RegExp(`^gateway: cannot start: cannot connect to Redis at redis://127\\.0\\.0\\.1:${nobody}/9`),
    );
  });

  it('says in one line that the port is taken, and how to choose another', async () => {
    const taken = createServer();
    const port = await freePort();
    await new Promise<void>((resolve) => taken.listen(port, '127.0.0.1', resolve));
    try {
      const { code, stderr } = await start({
        GATEWAY_STORE: 'memory://',
        GATEWAY_PORT: String(port),
        GATEWAY_HOST: '127.0.0.1',
      });
      assert.equal(code, 1);
      assert.equal(
        stderr.trim(),
        `gateway: cannot start: port ${port} is already in use by another process (GATEWAY_PORT chooses another)`,
      );
    } finally {
      await new Promise((resolve) => taken.close(resolve));
    }
  });
});
