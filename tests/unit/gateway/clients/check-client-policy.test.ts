import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkClientPolicy,
  MAX_CLIENT_NAME_LENGTH,
  MIN_CLIENT_SECRET_LENGTH,
  type RegistrationDoor,
  usesClientSecret,
} from '../../../../gateway/clients/check-client-policy.ts';
import { TOKEN_EXCHANGE_GRANT } from '../../../../gateway/web/grant-types.ts';

const settings = { outboundPrivateHosts: [] };
const secret = 'x'.repeat(MIN_CLIENT_SECRET_LENGTH);
const confidential = { redirect_uris: ['https://app.example.com/cb'], client_secret: secret };
const publicClient = { redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'none' };

function refused(metadata: Record<string, unknown>, door: RegistrationDoor, pattern: RegExp): void {
  assert.throws(
    () => checkClientPolicy(metadata, door, settings),
    (error: { error?: string; error_description?: string }) => {
      assert.match(error.error ?? '', /^invalid_(client_metadata|redirect_uri)$/);
      assert.match(error.error_description ?? '', pattern);
      return true;
    },
  );
}

describe('the client registration policy', () => {
  it('accepts a confidential and a public client through every door', () => {
    for (const door of ['cli', 'file'] as const) {
      assert.doesNotThrow(() => checkClientPolicy(confidential, door, settings));
      assert.doesNotThrow(() => checkClientPolicy(publicClient, door, settings));
    }
    // Registration generates the secret itself: none is needed in the request.
    assert.doesNotThrow(() =>
      checkClientPolicy({ redirect_uris: ['https://app.example.com/cb'] }, 'registration', settings),
    );
    assert.doesNotThrow(() => checkClientPolicy(publicClient, 'registration', settings));
  });

  it('keeps trust-granting metadata and token exchange to operators', () => {
    for (const [key, value] of [
      ['first_party', true],
      ['first_party', false],
      ['resources', ['https://api.example.com']],
      ['introspection_audiences', ['https://api.example.com']],
    ] as const) {
      refused({ ...confidential, [key]: value }, 'registration', new RegExp(`${key} can be set only by an operator`));
      assert.doesNotThrow(() => checkClientPolicy({ ...confidential, [key]: value }, 'cli', settings));
    }
    const exchange = { ...confidential, grant_types: ['authorization_code', TOKEN_EXCHANGE_GRANT] };
    refused(exchange, 'registration', /only by an operator/);
    assert.doesNotThrow(() => checkClientPolicy(exchange, 'file', settings));
  });

  it('never gives a public client token exchange or introspection', () => {
    refused(
      { ...publicClient, grant_types: [TOKEN_EXCHANGE_GRANT] },
      'cli',
      /public client .* cannot have the grant type/,
    );
    refused(
      { ...publicClient, introspection_audiences: ['https://api.example.com'] },
      'file',
      /cannot have introspection_audiences/,
    );
  });

  it('gives client credentials to confidential clients of operators only, never with a user-like id', () => {
    const machine = { client_secret: secret, grant_types: ['client_credentials'], response_types: [] };
    // A machine alone needs no redirect URI; a client with the code flow still does.
    assert.doesNotThrow(() => checkClientPolicy(machine, 'cli', settings));
    assert.doesNotThrow(() => checkClientPolicy({ ...machine, redirect_uris: [] }, 'file', settings));
    refused({ ...machine, grant_types: ['authorization_code', 'client_credentials'] }, 'cli', /redirect_uris/);
    refused({ redirect_uris: [], grant_types: ['client_credentials'] }, 'registration', /only by an operator/);
    refused(
      { ...machine, client_secret: undefined, token_endpoint_auth_method: 'none' },
      'cli',
      /public client .* cannot have the grant type client_credentials/,
    );
    refused(
      { ...machine, client_id: '3f2b8c1e-9d4a-4e6b-8f0a-1c2d3e4f5a6b' },
      'file',
      /cannot have a UUID as client_id/,
    );
  });

  it('gives the device grant through operators only, public clients (a CLI) included', () => {
    const cli = {
      token_endpoint_auth_method: 'none',
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
    };
    assert.doesNotThrow(() => checkClientPolicy(cli, 'cli', settings));
    refused(cli, 'registration', /device_code can be given only by an operator/);
  });

  it('accepts only the client authentication methods the gateway offers', () => {
    for (const method of [
      'client_secret_jwt',
      'tls_client_auth',
      'self_signed_tls_client_auth',
      'NONE',
      '',
      1,
      ['none'],
    ]) {
      refused({ ...confidential, token_endpoint_auth_method: method }, 'cli', /token_endpoint_auth_method must be/);
    }
    assert.doesNotThrow(() =>
      checkClientPolicy(
        { redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'private_key_jwt' },
        'cli',
        settings,
      ),
    );
  });

  it('wants a long enough secret from an operator, and none from a client without one', () => {
    refused(
      { ...confidential, client_secret: 'x'.repeat(MIN_CLIENT_SECRET_LENGTH - 1) },
      'file',
      /at least 32 characters/,
    );
    refused({ ...confidential, client_secret: undefined }, 'cli', /needs a client_secret/);
    refused({ ...confidential, client_secret: 12345 }, 'cli', /needs a client_secret/);
    refused(
      { ...confidential, token_endpoint_auth_method: 'client_secret_post', client_secret: 'short' },
      'cli',
      /client_secret_post/,
    );
    refused({ ...publicClient, client_secret: secret }, 'file', /public client .* has no client secret/);
    refused(
      { ...confidential, token_endpoint_auth_method: 'private_key_jwt' },
      'cli',
      /private_key_jwt client has no client secret/,
    );
  });

  it('checks every URI field, and the URIs the gateway calls against the private-host list', () => {
    refused({ ...confidential, redirect_uris: [] }, 'cli', /redirect_uris: must be a non-empty array/);
    refused({ ...confidential, redirect_uris: ['http://app.example.com/cb'] }, 'cli', /must use https/);
    refused({ ...confidential, post_logout_redirect_uris: ['https://*.example.com/'] }, 'cli', /wildcard/);
    refused({ ...confidential, jwks_uri: 'https://169.254.169.254/jwks' }, 'cli', /^jwks_uri: .*SSRF/);
    refused(
      { ...confidential, sector_identifier_uri: 'https://10.0.0.1/s' },
      'registration',
      /^sector_identifier_uri: .*SSRF/,
    );
    refused({ ...confidential, backchannel_logout_uri: 'http://127.0.0.1:8000/bc' }, 'file', /SSRF/);
    assert.doesNotThrow(() =>
      checkClientPolicy({ ...confidential, backchannel_logout_uri: 'http://127.0.0.1:8000/bc' }, 'file', {
        outboundPrivateHosts: ['127.0.0.1:8000'],
      }),
    );
    refused({ ...confidential, logo_uri: 'https://app.example.com/logo\u202e.png' }, 'cli', /^logo_uri: .*U\+202E/);
    refused({ ...confidential, tos_uri: 'https://app.example.com/\ntos' }, 'registration', /^tos_uri: /);
  });

  it('shows a client name only as short, plain, visible text', () => {
    assert.doesNotThrow(() => checkClientPolicy({ ...confidential, client_name: 'My App – Café ☕' }, 'cli', settings));
    assert.doesNotThrow(
      () => checkClientPolicy({ ...confidential, client_name: '😀'.repeat(MAX_CLIENT_NAME_LENGTH) }, 'cli', settings),
      'characters, not UTF-16 units, are counted',
    );
    refused({ ...confidential, client_name: 'a'.repeat(MAX_CLIENT_NAME_LENGTH + 1) }, 'cli', /at most 100 characters/);
    refused({ ...confidential, client_name: '   ' }, 'registration', /non-empty string/);
    refused({ ...confidential, client_name: 42 }, 'registration', /non-empty string/);
    refused({ ...confidential, client_name: 'Google\u202e' }, 'registration', /U\+202E/);
    refused({ ...confidential, client_name: 'Goo\u200bgle' }, 'registration', /U\+200B/);
    refused({ ...confidential, client_name: 'Sign in\nto your bank' }, 'registration', /U\+000A/);
    refused({ ...confidential, client_name: 'App\u00a0Name' }, 'registration', /U\+00A0/);
  });

  it('knows which clients authenticate with a shared secret (basic by default, RFC 7591 §2)', () => {
    assert.equal(usesClientSecret({}), true);
    assert.equal(usesClientSecret({ token_endpoint_auth_method: 'client_secret_post' }), true);
    assert.equal(usesClientSecret({ token_endpoint_auth_method: 'none' }), false);
    assert.equal(usesClientSecret({ token_endpoint_auth_method: 'private_key_jwt' }), false);
  });
});
