/**
 * The README's `npm start`, as a person runs it: its prestart builds the server's JavaScript
 * (scripts/build.ts) from the sources as they are, the gateway starts from dist/, and a SIGTERM
 * sent to npm (what a process manager does) stops the gateway cleanly instead of leaving it
 * running without its parent.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ROOT } from './helpers/gateway-process.ts';
import { freePort } from './helpers/start-gateway.ts';

describe('npm start', () => {
  it('builds dist/ from the sources, serves from it, and stops on a SIGTERM sent to npm', async () => {
    const port = await freePort();
    const startedAt = Date.now();
    // The npm running this suite (npm test), on the PATH it was given (the pinned Node first).
    const npm = process.env['npm_execpath'];
    const [command, args] = npm ? [process.execPath, [npm, 'start']] : ['npm', ['start']];
    const child = spawn(command, args, {
      cwd: ROOT,
      env: {
        PATH: process.env['PATH'] ?? '',
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: String(port),
        GATEWAY_ISSUER: `http://127.0.0.1:${port}`,
        GATEWAY_STORE: 'memory://',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let healthy = false;
      for (let i = 0; i < 200 && !healthy && child.exitCode === null; i += 1) {
        healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.ok,
          () => false,
        );
        if (!healthy) await sleep(100);
      }
      assert.ok(healthy, `/healthz never answered:\n${output}`);
      assert.match(output, /built \d+ files into dist\//);
      assert.ok(statSync(join(ROOT, 'dist', 'gateway', 'main.js')).mtimeMs >= startedAt - 1_000, 'dist/ was rebuilt');
      // The process serving (its pid is in its log lines) is the built JavaScript, not the sources.
      const pid = /"pid":(\d+)/.exec(output)?.[1];
      assert.ok(pid, `no log line with a pid:\n${output}`);
      assert.match(readFileSync(`/proc/${pid}/cmdline`, 'utf8'), /dist\/gateway\/main\.js/);

      child.kill('SIGTERM');
      assert.equal(await exited, 0, `npm exits cleanly:\n${output}`);
      assert.match(output, /stopped: requests in flight finished/);
      const stillServing = await fetch(`http://127.0.0.1:${port}/healthz`).then(
        () => true,
        () => false,
      );
      assert.equal(stillServing, false, 'no gateway left running without npm');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
