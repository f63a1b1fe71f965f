import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cliLog } from '../../../../gateway/cli/cli-log.ts';
import { audit } from '../../../../gateway/web/audit.ts';

function capture(level: Parameters<typeof cliLog>[1]) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const log = cliLog({ stdout: (text) => stdout.push(text), stderr: (text) => stderr.push(text) }, level);
  return { log, stdout, stderr };
}

describe('cliLog: the CLI writes audit events as the gateways do', () => {
  it("writes web/audit.ts's shape as one pino-format JSON line on stderr", () => {
    const { log, stdout, stderr } = capture('info');
    audit(log, 'key.rotated', { actor: { via: 'cli' }, kids: ['a', 'b'] }, 'signing keys rotated');
    assert.deepEqual(stdout, []);
    assert.equal(stderr.length, 1);
    assert.ok(stderr[0]?.endsWith('}\n'));
    const line = JSON.parse(stderr[0] ?? '') as Record<string, unknown>;
    assert.equal(line['level'], 30);
    assert.equal(typeof line['time'], 'number');
    assert.equal(line['audit'], 'key.rotated');
    assert.deepEqual(line['kids'], ['a', 'b']);
    assert.equal(line['msg'], 'signing keys rotated');
  });

  it('writes a warning at 40, and nothing under GATEWAY_LOG_LEVEL', () => {
    const quiet = capture('warn');
    quiet.log.info({ audit: 'client.removed' }, 'client removed');
    quiet.log.warn({ event: 'backchannel_logout_failed' }, 'back-channel logout not delivered');
    assert.equal(quiet.stderr.length, 1);
    assert.equal((JSON.parse(quiet.stderr[0] ?? '') as { level: number }).level, 40);
    const silent = capture('silent');
    silent.log.warn({}, 'x');
    audit(silent.log, 'refresh_token.reuse_detected', {}, 'x');
    assert.deepEqual(silent.stderr, []);
  });
});
