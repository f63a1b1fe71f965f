/**
 * The userinfo endpoint's answers to a missing, malformed or bad access token (RFC 6750 §3 and
 * §3.1): no credentials → only how to authenticate; a malformed header → 400 invalid_request;
 * a token that does not verify → 401 invalid_token.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../config/load-config.ts';
import { buildGateway } from '../gateway/app/build-gateway.ts';

describe('userinfo challenges (RFC 6750 §3)', () => {
  let app: FastifyInstance;
  before(async () => {
    const loaded = loadConfig({ GATEWAY_STORE: 'memory://', GATEWAY_LOG_LEVEL: 'silent' });
    assert.ok(loaded.ok);
    app = await buildGateway(loaded.config);
  });
  after(async () => app?.close());

  it('asks a request without credentials to authenticate, with no error code', async () => {
    const response = await app.inject({ url: '/me' });
    assert.equal(response.statusCode, 401);
    assert.equal(response.headers['www-authenticate'], 'Bearer realm="gateway"');
  });

  it('answers a header that is not a Bearer token with 400 invalid_request', async () => {
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b']) {
      const response = await app.inject({ url: '/me', headers: { authorization } });
      assert.equal(response.statusCode, 400, authorization);
      assert.match(String(response.headers['www-authenticate']), /^Bearer realm="gateway", error="invalid_request"/);
    }
  });

  it('answers a token that does not verify with 401 invalid_token', async () => {
    const response = await app.inject({ url: '/me', headers: { authorization: 'Bearer not.a.jwt' } });
    assert.equal(response.statusCode, 401);
    assert.match(String(response.headers['www-authenticate']), /error="invalid_token"/);
    assert.equal(response.json().error, 'invalid_token');
  });
});
