import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cookieDomainFor, hostMatches, parseDomainPattern } from '../../../../gateway/web/domain-match.ts';

describe('domain patterns', () => {
  it('reads a leading dot as "and every subdomain", and a numeric suffix as a port', () => {
    assert.deepEqual(parseDomainPattern('.Example.COM'), { host: 'example.com', subdomains: true, port: undefined });
    assert.deepEqual(parseDomainPattern('app.example.com:8443'), {
      host: 'app.example.com',
      subdomains: false,
      port: '8443',
    });
    // An IPv6 literal's colons are not a port.
    assert.equal(parseDomainPattern('[::1]').port, undefined);
  });

  it('matches the apex and subdomains of a dotted pattern, and only the host itself otherwise', () => {
    const dotted = parseDomainPattern('.example.com');
    assert.ok(hostMatches(dotted, 'example.com', ''));
    assert.ok(hostMatches(dotted, 'a.b.EXAMPLE.com.', ''), 'case and a trailing dot do not matter');
    assert.ok(!hostMatches(dotted, 'badexample.com', ''), 'a suffix is not a subdomain');
    assert.ok(!hostMatches(dotted, 'example.com.evil.test', ''));
    const exact = parseDomainPattern('example.com');
    assert.ok(hostMatches(exact, 'example.com', ''));
    assert.ok(!hostMatches(exact, 'app.example.com', ''));
  });

  it('requires the port when the pattern names one', () => {
    const withPort = parseDomainPattern('.example.com:8443');
    assert.ok(hostMatches(withPort, 'app.example.com', '8443'));
    assert.ok(!hostMatches(withPort, 'app.example.com', ''));
    assert.ok(!hostMatches(withPort, 'app.example.com', '443'));
  });

  it('picks the longest cookie domain a host falls under, or none (a host-only cookie)', () => {
    const domains = ['example.com', '.apps.example.com', 'other.test'];
    assert.equal(cookieDomainFor('x.apps.example.com', domains), 'apps.example.com');
    assert.equal(cookieDomainFor('www.example.com', domains), 'example.com');
    assert.equal(cookieDomainFor('example.org', domains), undefined);
  });
});
