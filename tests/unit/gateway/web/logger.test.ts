import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { censorSecrets, loggerOptions } from '../../../../gateway/web/logger.ts';

/** Fastify's logger (pino) with the gateway's options, writing into `lines`. */
function collectingLogger() {
  const lines: Array<Record<string, unknown>> = [];
  const stream = { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) };
  const { log } = Fastify({ logger: { ...(loggerOptions('info') as object), stream } });
  return { log, lines };
}

describe('the log stream censors credentials (logger.ts)', () => {
  it('censors every credential-named field, at the top and up to three objects deep', () => {
    const { log, lines } = collectingLogger();
    log.info(
      {
        code: 'auth-code',
        client: { client_secret: 's3cret', client_id: 'shop' },
        upstream: { response: { tokens: { refresh_token: 'r-token', expires_in: 3600 } } },
        headers: { Authorization: 'Bearer abc', Cookie: 'gw=1', accept: 'text/html' },
        forms: [{ subject_token: 'st', audience: 'billing' }],
      },
      'hostile line',
    );
    const line = lines[0] ?? {};
    const text = JSON.stringify(line);
    for (const secret of ['auth-code', 's3cret', 'r-token', 'Bearer abc', 'gw=1', '"st"']) {
      assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }
    assert.equal(line['code'], '[redacted]');
    assert.deepEqual(line['client'], { client_secret: '[redacted]', client_id: 'shop' });
    assert.equal((line['headers'] as Record<string, unknown>)['accept'], 'text/html', 'the rest is kept');
    assert.equal((line['forms'] as Array<Record<string, unknown>>)[0]?.['audience'], 'billing');
  });

  it("keeps an error's own code (ECONNRESET is no credential), and a request without its headers", () => {
    const { log, lines } = collectingLogger();
    const err = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    log.error({ err }, 'upstream failed');
    log.info(
      { req: { method: 'GET', url: '/upstream/callback?code=abc', ip: '10.0.0.1', headers: { cookie: 'gw=1' } } },
      'request',
    );
    const [failed = {}, request = {}] = lines;
    assert.equal((failed['err'] as Record<string, unknown>)['code'], 'ECONNRESET');
    const req = request['req'];
    assert.deepEqual(req, { method: 'GET', path: '/upstream/callback', ip: '10.0.0.1' });
  });

  it("censors an error's credential-named properties, and a plain object logged as the error", () => {
    const { log, lines } = collectingLogger();
    const err = Object.assign(new Error('refresh failed'), { code: 'invalid_grant', refresh_token: 'r-secret' });
    log.error({ err }, 'upstream refresh failed');
    log.error({ err: { access_token: 'a-secret', status: 401 } }, 'not an Error');
    const [first = {}, second = {}] = lines;
    const serialized = first['err'] as Record<string, unknown>;
    assert.equal(serialized['refresh_token'], '[redacted]');
    assert.equal(serialized['code'], 'invalid_grant', "an error's own code is kept");
    assert.equal(serialized['message'], 'refresh failed');
    assert.equal((second['err'] as Record<string, unknown>)['access_token'], '[redacted]');
  });

  it('censors an error wherever it sits in a line, and an array of errors', () => {
    const { log, lines } = collectingLogger();
    const withToken = () => Object.assign(new Error('upstream said no'), { access_token: 'E-secret' });
    log.error({ error: withToken(), upstream: { err: withToken() }, err: [withToken()] }, 'errors elsewhere');
    const [line = {}] = lines;
    const text = JSON.stringify(line);
    assert.ok(!text.includes('E-secret'), text);
    const error = line['error'] as Record<string, unknown>;
    assert.equal(error['message'], 'upstream said no', 'written as the error serializer writes it');
  });

  it('knows every spelling of a credential name', () => {
    const { log, lines } = collectingLogger();
    log.info(
      {
        form: {
          clientSecret: 'cs',
          'Client-Secret': 'cs2',
          device_code: 'dc',
          user_code: 'BCDF-GHJK',
          code_verifier: 'cv',
          token: 'tk',
          actor_token: 'at',
          assertion: 'as',
        },
        headers: { 'Proxy-Authorization': 'Basic pp' },
        deep: { a: { b: { c: { d: { password: 'pw' } } } } },
      },
      'forms',
    );
    const text = lines.map((line) => JSON.stringify(line)).join('\n');
    for (const secret of ['"cs"', 'cs2', '"dc"', 'BCDF-GHJK', '"cv"', '"tk"', '"at"', '"as"', 'Basic pp', '"pw"']) {
      assert.ok(!text.includes(secret), `${secret} in ${text}`);
    }
  });

  it('leaves a line without a secret as it is (no copy)', () => {
    const line = { audit: 'token.issued', client_id: 'shop', sub: 'u1', issued: ['access_token'] };
    assert.equal(censorSecrets(line), line);
    const nested = { client: { client_secret: 'x' } };
    assert.notEqual(censorSecrets(nested), nested);
    assert.equal(nested.client.client_secret, 'x', "the caller's object is never changed");
  });

  it('censors what an object with toJSON will be written as, and keeps Dates and URLs as they are', () => {
    const { log, lines } = collectingLogger();
    class TokenSet {
      readonly secret: string;
      constructor(secret: string) {
        this.secret = secret;
      }
      toJSON() {
        return { access_token: this.secret, token_type: 'Bearer', nested: { refresh_token: 'rt-2' } };
      }
    }
    const at = new Date(0);
    log.info(
      { tokens: new TokenSet('at-1'), list: [new TokenSet('at-3')], at, url: new URL('https://x.example/a') },
      'to json',
    );
    const text = JSON.stringify(lines[0]);
    for (const secret of ['at-1', 'rt-2', 'at-3']) assert.ok(!text.includes(secret), `${secret} in ${text}`);
    const line = lines[0] ?? {};
    assert.deepEqual(line['tokens'], {
      access_token: '[redacted]',
      token_type: 'Bearer',
      nested: { refresh_token: '[redacted]' },
    });
    assert.equal(line['at'], at.toJSON());
    assert.equal(line['url'], 'https://x.example/a');
    const plain = { when: at, where: new URL('https://x.example/') };
    assert.equal(censorSecrets(plain), plain, 'no copy when toJSON gives nothing to censor');
  });
});
