import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, it } from 'node:test';
import { createCheckReplay } from '../../../../gateway/forward-auth/check-replay.ts';

function req(options: { url?: string; method?: string; peer?: string; headers?: Record<string, string> }) {
  return {
    method: options.method ?? 'GET',
    url: options.url ?? '/oauth2/auth',
    socket: { remoteAddress: options.peer ?? '10.0.0.1' },
    headers: { host: 'app.example.com', cookie: '_gateway_auth=a~b~c', ...options.headers },
  } as unknown as IncomingMessage;
}

function res() {
  const written: { status?: number; headers?: string[]; ended: boolean } = { ended: false };
  const response = {
    writeHead(status: number, headers: string[]) {
      written.status = status;
      written.headers = headers;
    },
    end() {
      written.ended = true;
    },
  } as unknown as ServerResponse;
  return { response, written };
}

describe('check replay', () => {
  const revoked = new Set<string>();
  const counted: number[] = [];
  const replay = createCheckReplay({
    trustedProxies: ['10.0.0.0/8'],
    isRevoked: (sid) => sid !== undefined && revoked.has(sid),
    recordCheck: (_route, status) => counted.push(status),
  });
  const headers = { 'x-auth-request-user': 'u1', 'x-auth-request-access-token': 'jwt' };

  it('answers a kept 202 for the same request, flat headers and all, and counts it', () => {
    replay.remember(req({}), headers, Date.now() + 60_000, 'sid-1');
    const { response, written } = res();
    assert.equal(replay.answer(req({}), response), true);
    assert.equal(written.status, 202);
    assert.deepEqual(written.headers, [
      'x-auth-request-user',
      'u1',
      'x-auth-request-access-token',
      'jwt',
      'content-length',
      '0',
    ]);
    assert.ok(written.ended);
    assert.deepEqual(counted, [202]);
  });

  it('leaves to the route every request that differs in what the decision reads', () => {
    replay.remember(req({}), headers, Date.now() + 60_000, 'sid-1');
    const differing = [
      req({ method: 'HEAD' }),
      req({ url: '/oauth2/auth?allowed_groups=ops' }),
      req({ url: '/oauth2/authz' }),
      req({ headers: { host: 'other.example.com' } }),
      req({ headers: { cookie: '_gateway_auth=a~b~d' } }),
      req({ headers: { authorization: 'Bearer x' } }),
      // From a trusted proxy, X-Forwarded-Host names the host.
      req({ headers: { 'x-forwarded-host': 'evil.test' } }),
      req({ headers: { 'content-length': '5' } }),
      req({ headers: { 'transfer-encoding': 'chunked' } }),
    ];
    for (const request of differing)
      assert.equal(replay.answer(request, res().response), false, JSON.stringify(request.headers));
  });

  it('keeps no answer for a request with an oversized key', () => {
    const big = req({
      url: '/oauth2/auth?big',
      headers: { cookie: `_gateway_auth=a~b~c; other=${'x'.repeat(5_000)}` },
    });
    replay.remember(big, headers, Date.now() + 60_000, 'sid-5');
    assert.equal(replay.answer(big, res().response), false);
  });

  it('ignores X-Forwarded-Host from a peer that is not a trusted proxy, as Fastify does', () => {
    replay.remember(req({ peer: '203.0.113.9' }), headers, Date.now() + 60_000, 'sid-2');
    const spoofed = req({ peer: '203.0.113.9', headers: { 'x-forwarded-host': 'anything.test' } });
    assert.equal(replay.answer(spoofed, res().response), true);
  });

  it('keeps nothing expired, and drops an entry whose session was signed out', () => {
    const expired = req({ url: '/oauth2/auth?expired' });
    replay.remember(expired, headers, Date.now() - 1, 'sid-3');
    assert.equal(replay.answer(expired, res().response), false);
    const request = req({ url: '/oauth2/auth?revoked' });
    replay.remember(request, headers, Date.now() + 60_000, 'sid-4');
    assert.equal(replay.answer(request, res().response), true);
    revoked.add('sid-4');
    assert.equal(replay.answer(request, res().response), false);
    revoked.delete('sid-4');
    assert.equal(replay.answer(request, res().response), false, 'dropped, not just skipped');
  });
});
