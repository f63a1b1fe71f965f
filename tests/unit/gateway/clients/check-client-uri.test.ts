import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkClientUri,
  checkClientUriList,
  checkFetchedClientUri,
  checkNoControlCharacters,
} from '../../../../gateway/clients/check-client-uri.ts';

/**
 * Asserts oidc-provider's InvalidClientMetadata, with a description matching `pattern`; it answers
 * invalid_redirect_uri when the description starts with `redirect_uris` (RFC 7591 §3.2.2).
 */
function refused(run: () => void, pattern: RegExp): void {
  assert.throws(run, (error: { error?: string; error_description?: string }) => {
    const redirect = error.error_description?.startsWith('redirect_uris:') === true;
    assert.equal(error.error, redirect ? 'invalid_redirect_uri' : 'invalid_client_metadata');
    assert.match(error.error_description ?? '', pattern);
    return true;
  });
}

describe('the rule for registered URIs', () => {
  it('accepts https anywhere, and plain http only on a loopback host', () => {
    for (const uri of [
      'https://app.example.com/cb',
      'https://app.example.com:8443/cb?x=1',
      'http://127.0.0.1:9000/cb',
      'http://[::1]/cb',
      'http://localhost:3000/cb',
      'https://app.example.com/cb?q=a%20b',
    ]) {
      assert.doesNotThrow(() => checkClientUri('redirect_uris', uri), uri);
    }
    for (const uri of [
      'http://app.example.com/cb',
      'http://127.0.0.2/cb',
      'http://localhost.evil.test/cb',
      'http://10.0.0.1/cb',
      'ftp://app.example.com/',
      'javascript:alert(1)',
      'com.example.app:/cb',
    ]) {
      refused(() => checkClientUri('redirect_uris', uri), /must use https/);
    }
  });

  it('refuses wildcards, backslashes, fragments, credentials and relative URIs', () => {
    refused(() => checkClientUri('redirect_uris', 'https://*.example.com/cb'), /wildcard/);
    refused(() => checkClientUri('redirect_uris', 'https://app.example.com/*'), /wildcard/);
    refused(() => checkClientUri('redirect_uris', 'https://evil.example\\@app.example.com/cb'), /backslash/);
    refused(() => checkClientUri('redirect_uris', 'https://app.example.com/cb#'), /fragment/);
    refused(() => checkClientUri('redirect_uris', 'https://app.example.com/cb#x'), /fragment/);
    refused(() => checkClientUri('redirect_uris', 'https://user@app.example.com/cb'), /user name or password/);
    refused(() => checkClientUri('redirect_uris', 'https://:pw@app.example.com/cb'), /user name or password/);
    // The message (which is also logged) never repeats the credential.
    assert.throws(
      () => checkClientUri('redirect_uris', 'https://user:S3CRET@app.example.com/cb'),
      (error: { error_description?: string }) =>
        !error.error_description?.includes('S3CRET') &&
        error.error_description?.includes('https://app.example.com/cb') === true,
    );
    for (const spelled of [
      ' https://alice:S3CRET@app.example.com/cb',
      'https:alice:S3CRET@app.example.com/cb',
      'https:/alice:S3CRET@app.example.com/cb',
      'https:///alice:S3CRET@app.example.com/cb',
      'https:\\\\alice:S3CRET@app.example.com\\cb',
    ]) {
      assert.throws(
        () => checkClientUri('redirect_uris', spelled),
        (error: { error_description?: string }) =>
          !error.error_description?.includes('S3CRET') && /user name or password/.test(error.error_description ?? ''),
        spelled,
      );
    }
    assert.throws(
      () => checkClientUri('redirect_uris', 'http://user:S3CRET@app.example.com/*'),
      (error: { error_description?: string }) =>
        !error.error_description?.includes('S3CRET') && /user name or password/.test(error.error_description ?? ''),
    );
    refused(() => checkClientUri('redirect_uris', '/cb'), /not an absolute URI/);
    refused(() => checkClientUri('redirect_uris', ''), /non-empty string/);
    refused(() => checkClientUri('redirect_uris', 42), /non-empty string/);
  });

  it('refuses control, invisible and whitespace characters, and names them without printing them', () => {
    const hostile: Array<[string, string]> = [
      ['https://app.example.com/cb\n', 'U+000A'],
      ['https://app.example.com/\tcb', 'U+0009'],
      [' https://app.example.com/cb', 'U+0020'],
      ['https://app.example.com/c b', 'U+0020'],
      ['https://app.example.com/\u0085', 'U+0085'],
      ['https://app.example.com/\u007f', 'U+007F'],
      ['https://moc.elpmaxe\u202e.app/', 'U+202E'],
      ['https://app\u200b.example.com/', 'U+200B'],
      ['https://app.example.com/\u00a0', 'U+00A0'],
      ['https://app.example.com/\ufeff', 'U+FEFF'],
    ];
    for (const [uri, named] of hostile) {
      assert.throws(
        () => checkClientUri('post_logout_redirect_uris', uri),
        (error: { error_description: string }) => {
          assert.ok(error.error_description.startsWith('post_logout_redirect_uris: '));
          assert.ok(error.error_description.includes(named), named);
          assert.ok(!/[\n\t\u0085\u202e\u200b\u00a0\ufeff\u007f]/.test(error.error_description), 'one plain line');
          return true;
        },
      );
    }
    assert.doesNotThrow(() => checkNoControlCharacters('logo_uri', 'https://app.example.com/logo%20x.png'));
  });

  it('answers invalid_redirect_uri for a redirect URI, invalid_client_metadata for the others', () => {
    assert.throws(
      () => checkClientUri('redirect_uris', 'http://app.example.com/cb'),
      (error: { error: string }) => error.error === 'invalid_redirect_uri',
    );
    assert.throws(
      () => checkClientUri('post_logout_redirect_uris', 'http://app.example.com/cb'),
      (error: { error: string }) => error.error === 'invalid_client_metadata',
    );
  });

  it('cuts a long value in the description', () => {
    assert.throws(
      () => checkClientUri('redirect_uris', `http://app.example.com/${'a'.repeat(5000)}`),
      (error: { error_description: string }) => error.error_description.length < 600,
    );
  });

  it('needs a non-empty list of redirect URIs, and checks every item of a list', () => {
    refused(() => checkClientUriList('redirect_uris', undefined, { required: true }), /non-empty array/);
    refused(() => checkClientUriList('redirect_uris', [], { required: true }), /non-empty array/);
    refused(() => checkClientUriList('redirect_uris', 'https://app.example.com/cb', { required: true }), /array/);
    refused(() => checkClientUriList('post_logout_redirect_uris', {}), /array/);
    assert.doesNotThrow(() => checkClientUriList('post_logout_redirect_uris', undefined));
    assert.doesNotThrow(() => checkClientUriList('post_logout_redirect_uris', []));
    refused(
      () =>
        checkClientUriList('redirect_uris', ['https://app.example.com/cb', 'https://app.example.com/*'], {
          required: true,
        }),
      /wildcard/,
    );
  });
});

describe('URIs the gateway calls', () => {
  it('refuses loopback, private, link-local and unspecified hosts, and says what to allow', () => {
    for (const uri of [
      'https://127.0.0.1/jwks',
      'https://[::1]:8443/jwks',
      'https://localhost/jwks',
      'https://app.localhost/jwks',
      'https://10.0.0.1/jwks',
      'https://169.254.169.254/latest/meta-data',
      'https://0.0.0.0/',
      'https://127.1/jwks',
      'https://2130706433/jwks',
      'https://0x7f.0.0.1/jwks',
      'https://[::ffff:127.0.0.1]/jwks',
    ]) {
      refused(() => checkFetchedClientUri('jwks_uri', uri, []), /SSRF protection/);
    }
    refused(
      () => checkFetchedClientUri('backchannel_logout_uri', 'http://127.0.0.1:8000/logout', []),
      /127\.0\.0\.1:8000 to GATEWAY_OUTBOUND_PRIVATE_HOSTS/,
    );
  });

  it('allows a private host only at the host:port the operator listed', () => {
    const listed = ['127.0.0.1:8000', '10.0.0.5:443'];
    assert.doesNotThrow(() => checkFetchedClientUri('backchannel_logout_uri', 'http://127.0.0.1:8000/logout', listed));
    assert.doesNotThrow(
      () => checkFetchedClientUri('jwks_uri', 'https://10.0.0.5/jwks', listed),
      'the default port made explicit',
    );
    assert.doesNotThrow(
      () => checkFetchedClientUri('jwks_uri', 'https://127.1:8000/jwks', listed),
      'the canonical form',
    );
    refused(() => checkFetchedClientUri('jwks_uri', 'https://127.0.0.1:8001/jwks', listed), /SSRF/);
    refused(() => checkFetchedClientUri('jwks_uri', 'https://127.0.0.1/jwks', listed), /SSRF/);
    refused(() => checkFetchedClientUri('jwks_uri', 'https://10.0.0.5:8443/jwks', listed), /SSRF/);
  });

  it('still applies the URI rule to a listed host', () => {
    refused(() => checkFetchedClientUri('jwks_uri', 'http://10.0.0.5:443/jwks', ['10.0.0.5:443']), /must use https/);
    refused(() => checkFetchedClientUri('jwks_uri', 'https://app.example.com/jwks#k', []), /fragment/);
    assert.doesNotThrow(() => checkFetchedClientUri('jwks_uri', 'https://app.example.com/jwks', []));
  });
});
