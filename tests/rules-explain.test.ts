/**
 * `npx gateway rules explain`: the forward-auth decision for one request, with the rule that made
 * it, from the settings as the gateway reads them; exit 0 when it passes, 1 when not.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';

const env = {
  PATH: process.env['PATH'] ?? '',
  GATEWAY_GROUPS: JSON.stringify({ ops: ['boss@example.com'] }),
  GATEWAY_HOST_RULES: JSON.stringify([
    { host: '.example.com', allowed_email_domains: ['example.com'] },
    { host: 'app.example.com', path: '/flower', allowed_groups: ['ops'] },
    { host: 'app.example.com', path: '/static', allow: 'public' },
    { host: 'app.example.com', path: '/hooks', trusted_networks: ['10.20.0.0/16'] },
  ]),
};

function explain(...args: string[]) {
  const run = spawnSync(process.execPath, ['bin/gateway.ts', 'rules', 'explain', ...args], { env, encoding: 'utf8' });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

describe('npx gateway rules explain', () => {
  it('names the rule that decides, and the answer, as the check would give it', () => {
    const flower = explain('--host', 'app.example.com', '--path', '/%66lower/tasks', '--email', 'ada@example.com');
    assert.equal(flower.code, 1);
    assert.match(flower.out, /decided by: rule 2 of GATEWAY_HOST_RULES: .*"path":"\/flower"/);
    assert.match(flower.out, /signed in, but not allowed \(403\)/);
    const boss = explain('--host', 'app.example.com', '--path', '/flower', '--email', 'boss@example.com');
    assert.equal(boss.code, 0);
    assert.match(boss.out, /groups: ops/);
    assert.match(boss.out, /passes \(202\)/);
    const wiki = explain('--host', 'wiki.example.com', '--email', 'ada@example.com');
    assert.match(wiki.out, /rule 1 of GATEWAY_HOST_RULES/);
    assert.equal(wiki.code, 0);
  });

  it('says when no sign-in is needed, and when one is', () => {
    assert.match(explain('--host', 'app.example.com', '--path', '/static/app.css').out, /passes without signing in/);
    const hook = explain('--host', 'app.example.com', '--path', '/hooks/ci', '--method', 'POST', '--ip', '10.20.0.5');
    assert.equal(hook.code, 0);
    const outside = explain('--host', 'app.example.com', '--path', '/hooks/ci', '--ip', '192.0.2.1');
    assert.equal(outside.code, 1);
    assert.match(outside.out, /sign in first \(401\)/);
  });

  it('refuses bad arguments with a usage error', () => {
    const missing = explain('--path', '/x');
    assert.equal(missing.code, 2);
    assert.match(missing.err, /--host is required/);
  });
});
