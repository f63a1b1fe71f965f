import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { safeRedirect } from '../../../../gateway/forward-auth/safe-redirect.ts';

const context = { origin: 'https://auth.example.com', allowedDomains: ['.example.com', 'other.test:8443'] };
const redirect = (rd: string | undefined) => safeRedirect(rd, context);

describe('where rd may send a browser', () => {
  it('keeps a same-host path with its query and fragment', () => {
    assert.equal(redirect('/path/to?x=1&y=%2F#top'), '/path/to?x=1&y=%2F#top');
    assert.equal(redirect('/a/./b/../c'), '/a/c', 'dot segments resolved as the browser would');
  });

  it('falls back to / without a value, or with one too long', () => {
    assert.equal(redirect(undefined), '/');
    assert.equal(redirect(''), '/');
    const longest = `/${'a'.repeat(2047)}`;
    assert.equal(redirect(longest), longest);
    assert.equal(redirect(`/${'a'.repeat(2048)}`), '/');
  });

  it('refuses scheme-relative paths in every disguise', () => {
    for (const rd of [
      '//evil.com',
      '///evil.com',
      '/%2f%2fevil.com',
      '/%2F/evil.com',
      '/%252f%252fevil.com',
      '/%25252f%25252fevil.com',
      '/%2e%2e//evil.com',
      '/a/../..//evil.com',
      '/.//evil.com',
      '%2f%2fevil.com',
    ]) {
      assert.equal(redirect(rd), '/', rd);
    }
  });

  it('refuses backslashes and control characters, raw or encoded (browsers turn them into //)', () => {
    for (const rd of [
      '/\\evil.com',
      '\\\\evil.com',
      '/%5cevil.com',
      '/%255cevil.com',
      '/%09/evil.com',
      '/\t/evil.com',
      '/%0d%0aSet-Cookie:x',
      '/x\n',
      '/%00',
      '/%7f',
    ]) {
      assert.equal(redirect(rd), '/', JSON.stringify(rd));
    }
  });

  it('fails closed on malformed or too deeply nested percent-encoding', () => {
    assert.equal(redirect('/%'), '/');
    assert.equal(redirect('/%zz'), '/');
    assert.equal(redirect('/%E0%A4%A'), '/', 'a broken UTF-8 sequence');
    assert.equal(redirect('/%2525252f%2525252fevil.com'), '/', 'five layers deep');
  });

  it('accepts absolute URLs on its own origin and within the allowed domains', () => {
    assert.equal(redirect('https://auth.example.com/ok'), 'https://auth.example.com/ok');
    assert.equal(redirect('https://app.example.com/x?y=1'), 'https://app.example.com/x?y=1');
    assert.equal(redirect('https://example.com'), 'https://example.com/', 'the apex of a dotted domain');
    assert.equal(redirect('HTTPS://APP.Example.COM/X'), 'https://app.example.com/X');
    assert.equal(redirect('https://app.example.com:443/'), 'https://app.example.com/');
  });

  it('refuses other hosts that merely look like an allowed one', () => {
    for (const rd of [
      'https://evil.com/',
      'https://badexample.com/',
      'https://example.com.evil.test/',
      'https://evil.com/.example.com',
      'https://evil.com?.example.com',
      'https://evil.com#.example.com',
      'https://evil.com\\.example.com',
      'https://xn--exmple-cua.com/',
      'https://[::1]/',
      'https://127.0.0.1/',
    ]) {
      assert.equal(redirect(rd), '/', rd);
    }
  });

  it('refuses userinfo, which can make one host read as another', () => {
    for (const rd of [
      'https://app.example.com@evil.com/',
      'https://user:pw@app.example.com/',
      'https://user@app.example.com/',
      'https://evil.com%40app.example.com/',
      'https://app.example.com%40evil.com/',
      'https://app.example.com%2540evil.com/',
      'https://app.example.com\\@evil.com/',
    ]) {
      assert.equal(redirect(rd), '/', rd);
    }
  });

  it('refuses other schemes and scheme shapes without //', () => {
    for (const rd of [
      'javascript:alert(1)',
      'JavaScript://%0aalert(1)',
      'data:text/html,x',
      'ftp://app.example.com/',
      'https:app.example.com',
      'https:/app.example.com',
      'https:///app.example.com',
      'evil.com',
      'app.example.com/x',
      ' /x',
      ' https://app.example.com/',
    ]) {
      assert.equal(redirect(rd), '/', rd);
    }
  });

  it('holds an allowed domain with a port to that port exactly', () => {
    assert.equal(redirect('https://other.test:8443/x'), 'https://other.test:8443/x');
    assert.equal(redirect('https://other.test/x'), '/');
    assert.equal(redirect('https://other.test:9443/x'), '/');
    assert.equal(redirect('https://sub.other.test:8443/x'), '/', 'no leading dot: the host itself only');
  });

  it('holds a domain named without a port to the default port, and never goes from https to http', () => {
    assert.equal(redirect('https://app.example.com/'), 'https://app.example.com/');
    assert.equal(redirect('https://app.example.com:443/'), 'https://app.example.com/', 'the default port, spelt out');
    assert.equal(redirect('https://app.example.com:8443/'), '/');
    assert.equal(redirect('http://app.example.com/'), '/', 'a downgrade to http');
  });

  it('allows nothing absolute but its own origin when no domain is allowed', () => {
    const none = { origin: 'https://auth.example.com', allowedDomains: [] };
    assert.equal(safeRedirect('https://auth.example.com/x', none), 'https://auth.example.com/x');
    assert.equal(safeRedirect('https://app.example.com/x', none), '/');
    assert.equal(safeRedirect('http://auth.example.com/x', none), '/', 'another scheme is another origin');
    assert.equal(safeRedirect('https://auth.example.com:8443/x', none), '/', 'another port is another origin');
  });

  it('fails closed when the request origin itself does not parse', () => {
    const broken = { origin: 'not a url', allowedDomains: [] };
    assert.equal(safeRedirect('/x', broken), '/');
    assert.equal(safeRedirect('https://evil.com/', broken), '/');
  });
});
