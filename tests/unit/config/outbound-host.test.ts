import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outboundHostOf, parseOutboundHosts } from '../../../config/outbound-host.ts';

describe('GATEWAY_OUTBOUND_PRIVATE_HOSTS', () => {
  it('reads host:port entries in the canonical form a URL gives', () => {
    assert.deepEqual(parseOutboundHosts('127.0.0.1:8000, App.Internal:8443, [::1]:9000'), {
      value: ['127.0.0.1:8000', 'app.internal:8443', '[::1]:9000'],
    });
    assert.deepEqual(parseOutboundHosts('127.1:80,[::FFFF:7F00:1]:443,0x7f.0.0.1:1'), {
      value: ['127.0.0.1:80', '[::ffff:7f00:1]:443', '127.0.0.1:1'],
    });
    assert.deepEqual(parseOutboundHosts(''), { value: [] });
  });

  it('refuses a wildcard, a host without a port, and ports out of range', () => {
    const refused = (raw: string, pattern: RegExp) => {
      const parsed = parseOutboundHosts(raw);
      assert.ok('problem' in parsed, raw);
      assert.match(parsed.problem, pattern, raw);
    };
    refused('*:443', /wildcard/);
    refused('*.internal:443', /wildcard/);
    refused('127.0.0.1', /without a port/);
    refused('[::1]', /without a port/);
    refused('127.0.0.1:80, app.internal', /without a port/);
    refused('127.0.0.1:0', /between 1 and 65535/);
    refused('127.0.0.1:65536', /between 1 and 65535/);
  });

  it('refuses entries that are not one host, whatever hides in them', () => {
    for (const bad of [
      'user@host:80',
      'http://host:80',
      'host/path:80',
      'a b:80',
      'under_score.test:80',
      '[zz::1]:80',
      'host:80:81',
    ]) {
      assert.ok('problem' in parseOutboundHosts(bad), bad);
    }
  });

  it('gives a URL its host:port with the default port made explicit', () => {
    assert.equal(outboundHostOf(new URL('https://Example.com/jwks')), 'example.com:443');
    assert.equal(outboundHostOf(new URL('http://127.1/x')), '127.0.0.1:80');
    assert.equal(outboundHostOf(new URL('https://[::1]:8443/')), '[::1]:8443');
    assert.equal(outboundHostOf(new URL('https://example.com:443/')), 'example.com:443');
  });
});
