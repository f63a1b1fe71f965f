/**
 * No open redirect: `rd` (after sign-in, at sign-out) never leaves the allowed domains. The
 * hostile values come from public advisories and write-ups against oauth2-proxy, vouch-proxy
 * and Authelia: scheme-relative paths, backslashes, encoded slashes and control characters,
 * userinfo tricks, look-alike suffixes and homographs, and non-http schemes.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { safeRedirect } from '../gateway/forward-auth/safe-redirect.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const hostile = [
  '//evil.com',
  '///evil.com',
  '////evil.com',
  '/\\evil.com',
  '\\/evil.com',
  '/\\/evil.com',
  '\\\\evil.com',
  '/%09/evil.com',
  '/%0a/evil.com',
  '/%0d/evil.com',
  '/%0d%0a/evil.com',
  '/%00/evil.com',
  '/%2f%2fevil.com',
  '%2f%2fevil.com',
  '/%2F%2Fevil.com',
  '/%2f/evil.com',
  '/%5cevil.com',
  '/%5c%5cevil.com',
  '%5c%5cevil.com',
  '/%5C/evil.com',
  '/%252f%252fevil.com',
  '/%25252f%25252fevil.com',
  '/%255cevil.com',
  'https://evil.com',
  'http://evil.com',
  'HTTPS://evil.com',
  'hTtPs://evil.com',
  'https://evil.com/https://example.com',
  'https:evil.com',
  'https:/evil.com',
  'https:\\\\evil.com',
  'http:\\\\evil.com',
  'https:/\\evil.com',
  'https://example.com.evil.com',
  'https://evilexample.com',
  'https://example.comevil.com',
  'https://notexample.com',
  'https://example.com@evil.com',
  'https://user:pass@example.com@evil.com',
  'https://evil.com@example.com',
  'https://evil.com%40example.com',
  'https://evil.com\\@example.com',
  'https://evil.com#@example.com',
  'https://evil.com?@example.com',
  'https://example.com%2eevil.com',
  'https://evil.com/.example.com',
  'https://evil.com%2f.example.com',
  'https://evil.com%252f.example.com',
  'https://\u0435xample.com/',
  'https://exampl\u0435.com/',
  'https://example\u3002com.evil.com/',
  'https://evil.com\uff0f.example.com/',
  'javascript:alert(1)',
  'JavaScript:alert(1)',
  'javascript://example.com/%0aalert(1)',
  ' javascript:alert(1)',
  'data:text/html,<script>alert(1)</script>',
  'vbscript:msgbox(1)',
  'file:///etc/passwd',
  'ftp://example.com/',
  'https://app.test:9999/',
  'https://app.test/',
  'http://[::1]/',
  'http://127.0.0.2/',
  'http://0x7f000001/',
  'https://example.com:8443.evil.com',
  '%68%74%74%70%73%3a%2f%2fevil.com',
  '\t//evil.com',
  ' //evil.com',
  'https://example.com\\.evil.com',
  '//example.com@evil.com',
  '/%2e%2e//evil.com',
];

const allowed: Array<[string, string]> = [
  ['/dashboard?x=1', '/dashboard?x=1'],
  ['/flower/tasks#top', '/flower/tasks#top'],
  ['https://app.example.com/x', 'https://app.example.com/x'],
  ['https://example.com/', 'https://example.com/'],
  ['https://deep.sub.example.com/path?q=a%20b', 'https://deep.sub.example.com/path?q=a%20b'],
  ['HTTPS://APP.EXAMPLE.COM/Up', 'https://app.example.com/Up'],
  ['https://app.test:8443/ok', 'https://app.test:8443/ok'],
];

describe('safeRedirect', () => {
  const context = { origin: 'https://gw.example.net', allowedDomains: ['.example.com', 'app.test:8443'] };

  it(`turns each of ${hostile.length} hostile values into "/"`, () => {
    assert.ok(hostile.length >= 50);
    for (const value of hostile) assert.equal(safeRedirect(value, context), '/', JSON.stringify(value));
  });

  it('keeps safe relative paths and allowed hosts', () => {
    for (const [value, expected] of allowed) assert.equal(safeRedirect(value, context), expected, value);
  });

  it('accepts an absolute URL on the request host itself, and nothing when the URL does not parse', () => {
    assert.equal(safeRedirect('https://gw.example.net/back', context), 'https://gw.example.net/back');
    assert.equal(safeRedirect('http://gw.example.net/back', context), '/', 'another scheme is another origin');
    assert.equal(safeRedirect('https://[invalid/', context), '/');
    assert.equal(safeRedirect(undefined, context), '/');
    assert.equal(safeRedirect(`/${'a'.repeat(3000)}`, context), '/');
  });
});

describe('redirect safety over HTTP (/oauth2/sign_out and /oauth2/sign_in)', () => {
  let gw: StartedGateway;
  before(async () => {
    gw = await startGateway({ env: { GATEWAY_REDIRECT_DOMAINS: '.example.com,app.test:8443' } });
  });
  after(async () => gw?.close());

  it('never redirects outside the allowed domains', async () => {
    for (const value of hostile) {
      const url = `${gw.issuer}/oauth2/sign_out?rd=${encodeURIComponent(value)}`;
      const response = await fetch(url, { redirect: 'manual' });
      assert.equal(response.status, 302, value);
      assert.equal(response.headers.get('location'), '/', JSON.stringify(value));
      const signIn = await fetch(`${gw.issuer}/oauth2/sign_in?rd=${encodeURIComponent(value)}`, { redirect: 'manual' });
      assert.equal(
        signIn.headers.get('location'),
        `/oauth2/start?rd=${encodeURIComponent('/')}`,
        JSON.stringify(value),
      );
    }
    for (const [value, expected] of allowed) {
      const response = await fetch(`${gw.issuer}/oauth2/sign_out?rd=${encodeURIComponent(value)}`, {
        redirect: 'manual',
      });
      assert.equal(response.headers.get('location'), expected, value);
    }
  });
});
