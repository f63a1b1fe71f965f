/**
 * The CLI's whole output reaches a pipe: a pipe takes 64 KiB at once, and an exit before it
 * drains would cut `npx gateway clients list --json | jq` in the middle of the document.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';

describe('the CLI writing to a pipe', () => {
  it('delivers output far beyond 64 KiB in full before it exits', async () => {
    const upstreams = Array.from({ length: 1500 }, (_, i) => ({
      id: `upstream-${i}`,
      type: 'oidc',
      issuer: `https://idp-${i}.example.com`,
      client_id: 'c',
      client_secret: 's',
    }));
    // (In the config file: an environment variable holds at most 128 KiB.)
    const dir = mkdtempSync(join(tmpdir(), 'gateway-cli-output-'));
    const file = join(dir, 'gateway.json');
    writeFileSync(file, JSON.stringify({ GATEWAY_UPSTREAMS: upstreams }));
    const child = spawn(process.execPath, ['bin/gateway.ts', 'config', 'check'], {
      env: { PATH: process.env['PATH'] ?? '', GATEWAY_CONFIG: file },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise((resolve) => child.on('close', resolve));
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, stderr);
    assert.ok(stdout.length > 65_536 * 2, `${stdout.length} bytes`);
    assert.match(stdout, /upstream-1499 \(oidc, https:\/\/idp-1499\.example\.com\)/, 'the last line arrived');
  });
});
