import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isLoopbackHost, parseGatewayIssuer, parseStoreUrl, parseUpstreamIssuer } from '../../../config/url-parsers.ts';

describe('config URL parsers', () => {
  it('normalises the gateway issuer to origin and path without a trailing slash', () => {
    assert.deepEqual(parseGatewayIssuer(' https://Auth.Example.com:443/ '), { value: 'https://auth.example.com' });
    assert.deepEqual(parseGatewayIssuer('https://example.com/tenant//'), { value: 'https://example.com/tenant' });
    assert.deepEqual(parseGatewayIssuer('http://127.0.0.1:3000'), { value: 'http://127.0.0.1:3000' });
  });

  it('refuses an issuer with another scheme, a query, a fragment, or no scheme at all', () => {
    for (const bad of [
      'ftp://example.com',
      'javascript:alert(1)',
      'https://example.com/?x=1',
      'https://example.com/#f',
      'example.com',
      '/path',
      '',
    ]) {
      assert.ok('problem' in parseGatewayIssuer(bad), bad);
    }
    // The URL parser reads a bare "?" or "#" as no query or fragment: the issuer is then written without it.
    assert.deepEqual(parseGatewayIssuer('https://example.com/?#'), { value: 'https://example.com' });
  });

  it('refuses credentials in an issuer and never quotes them back', () => {
    for (const parse of [parseGatewayIssuer, parseUpstreamIssuer]) {
      const parsed = parse('https://user:hunter2@example.com/');
      assert.ok('problem' in parsed);
      assert.match(parsed.problem, /user name or password/);
      assert.ok(!`${parsed.problem}${parsed.got}`.includes('hunter2'));
      assert.ok(!`${parsed.got}`.includes('user'), 'the user name is hidden too');
    }
  });

  it('keeps the upstream issuer exactly as given (discovery compares it byte for byte)', () => {
    assert.deepEqual(parseUpstreamIssuer('https://accounts.google.com'), { value: 'https://accounts.google.com' });
    assert.deepEqual(parseUpstreamIssuer('https://idp.example/realm/'), { value: 'https://idp.example/realm/' });
  });

  it('allows plain http upstream only on a loopback host', () => {
    for (const local of ['http://127.0.0.1:9000', 'http://127.8.9.10', 'http://[::1]:8080', 'http://LOCALHOST:1']) {
      assert.ok('value' in parseUpstreamIssuer(local), local);
    }
    for (const remote of [
      'http://example.com',
      'http://10.0.0.1',
      'http://localhost.evil.test',
      'http://128.0.0.1',
      'http://[::2]',
      'http://0.0.0.0',
    ]) {
      assert.ok('problem' in parseUpstreamIssuer(remote), remote);
    }
  });

  it('knows loopback hosts as a URL spells them', () => {
    assert.ok(isLoopbackHost('[::1]'));
    assert.ok(isLoopbackHost('127.255.255.254'));
    assert.ok(!isLoopbackHost('127.0.0.1.nip.io'));
    assert.ok(!isLoopbackHost('[::ffff:7f00:1]'), 'only the forms the rule names');
  });

  it('accepts the store forms and keeps them as given', () => {
    for (const store of [
      'memory://',
      'sqlite://./data/gateway.sqlite',
      'redis://127.0.0.1:6379',
      'redis://127.0.0.1:6379/0',
      'rediss://user:pass@redis.internal:6380/15',
      'redis+cluster://a:7000,b:7001',
      'rediss+cluster://:pw@[::1]:7000/0',
    ]) {
      assert.deepEqual(parseStoreUrl(store), { value: store }, store);
    }
  });

  it('refuses other stores, and masks a Redis password in what it quotes', () => {
    for (const bad of ['sqlite://', 'memory', 'postgres://db', 'http://redis:6379', 'redis:/host', '']) {
      assert.ok('problem' in parseStoreUrl(bad), bad);
    }
    const cases = [
      'redis://u:hunter2@host:6379/db?x',
      'redis://u:hunter2@host:6379/abc',
      'redis://u:hunter2@host:6379/0#frag',
      'redis+cluster://u:hunter2@a:7000,b:7001/1',
      'redis+cluster://u:hunter2@a:notaport',
    ];
    for (const store of cases) {
      const parsed = parseStoreUrl(store);
      assert.ok('problem' in parsed, store);
      assert.ok(!`${parsed.problem}${parsed.got ?? ''}`.includes('hunter2'), store);
    }
    const noDb = parseStoreUrl('redis://u:hunter2@host:6379/db');
    assert.ok('problem' in noDb && /database must be a number/.test(noDb.problem));
    assert.equal(noDb.got, JSON.stringify('redis://u:***@host:6379/db'));
  });
});
