/**
 * The one registration policy (gateway/clients/) on its own: every rule accepted and refused, the
 * clients file read and checked, and the operator's registry (add, list, show, remove, rotate,
 * file sync) on a real store, with oidc-provider's schema behind it as in a running gateway.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type Provider from 'oidc-provider';
import { loadConfig } from '../config/load-config.ts';
import type { Config } from '../config/config-type.ts';
import { createMemoryStore } from '../adapters/memory-store.ts';
import type { Store } from '../adapters/store.ts';
import { checkClientPolicy, type RegistrationDoor } from '../gateway/clients/check-client-policy.ts';
import { TOKEN_EXCHANGE_GRANT } from '../gateway/web/grant-types.ts';
import { checkClientUri } from '../gateway/clients/check-client-uri.ts';
import {
  checkClientsFile,
  ClientRegistryError,
  createClientRegistry,
  type ClientRegistry,
} from '../gateway/clients/client-registry.ts';
import { indexedClientIds } from '../gateway/clients/client-index.ts';
import { createValidationProvider } from '../gateway/cli/open-client-registry.ts';
import { matchesPreviousSecret } from '../gateway/clients/previous-secrets.ts';
import { readClientsFile } from '../gateway/clients/read-clients-file.ts';
import { createStoreSealing } from '../gateway/keys/store-sealing.ts';
import { introspectionAllowed } from '../gateway/provider/token-policies.ts';

/** The store's sealing, under a data key of this test's own. */
const sealing = createStoreSealing(randomBytes(32));

const SECRET = 'a-client-secret-of-at-least-32-characters';

/** The policy's settings when GATEWAY_OUTBOUND_PRIVATE_HOSTS is not set. */
const NO_PRIVATE_HOSTS = { outboundPrivateHosts: [] };

function config(env: Record<string, string> = {}): Config {
  const loaded = loadConfig({ GATEWAY_STORE: 'memory://', GATEWAY_LOG_LEVEL: 'silent', ...env });
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.problems.join('\n'));
  return loaded.config;
}

/** The error oidc-provider answers with: `error` and `error_description`. */
function refusal(fn: () => void): { error: string; error_description: string } {
  try {
    fn();
  } catch (error) {
    return error as { error: string; error_description: string };
  }
  assert.fail('expected a refusal');
}

function web(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { client_id: 'app', client_secret: SECRET, redirect_uris: ['https://app.example.com/callback'], ...extra };
}

describe('redirect URI rule (check-client-uri.ts)', () => {
  const accepted = [
    'https://app.example.com/callback',
    'https://app.example.com/callback?tenant=1',
    'https://app.example.com:8443/cb',
    'http://127.0.0.1/callback',
    'http://127.0.0.1:51234/callback',
    'http://[::1]:8080/callback',
    'http://localhost:3000/callback',
  ];
  for (const uri of accepted) {
    it(`accepts ${uri}`, () => checkClientUri('redirect_uris', uri));
  }

  const refused: Array<[string, unknown, RegExp]> = [
    ['a wildcard host', 'https://*.example.com/callback', /wildcard "\*"; register every exact URI/],
    ['a wildcard path', 'https://app.example.com/*', /wildcard/],
    ['a fragment', 'https://app.example.com/callback#x', /fragment/],
    ['an empty fragment', 'https://app.example.com/callback#', /fragment/],
    [
      'http on a public host',
      'http://app.example.com/callback',
      /must use https \(plain http is allowed only on 127\.0\.0\.1, \[::1\] or localhost/,
    ],
    ['http on a lookalike of localhost', 'http://localhost.evil.example/callback', /must use https/],
    ['http on another loopback address', 'http://127.0.0.2/callback', /must use https/],
    ['a custom scheme', 'com.example.app:/callback', /must use https/],
    ['javascript:', 'javascript:alert(1)', /must use https/],
    ['a relative URI', '/callback', /is not an absolute URI/],
    ['credentials', 'https://user:pw@app.example.com/callback', /user name or password/],
    ['a non-string', 42, /must be a non-empty string/],
  ];
  for (const [name, uri, message] of refused) {
    it(`refuses ${name}`, () => {
      const error = refusal(() => checkClientUri('redirect_uris', uri));
      assert.equal(error.error, 'invalid_redirect_uri');
      assert.match(error.error_description, /^redirect_uris: /);
      assert.match(error.error_description, message);
    });
  }

  const invisible: Array<[string, string, string]> = [
    ['a newline at the end', 'https://app.example.com/callback\n', 'U+000A'],
    ['a tab inside the host', 'https://app.exa\tmple.com/callback', 'U+0009'],
    ['a carriage return and line feed in the path', 'https://app.example.com/cb\r\nSet-Cookie:x=1', 'U+000D'],
    ['a leading space', ' https://app.example.com/callback', 'U+0020'],
    ['a space in the path', 'https://app.example.com/call back', 'U+0020'],
    ['a NUL', 'https://app.example.com/callback\u0000', 'U+0000'],
    ['DEL', 'https://app.example.com/\u007fcallback', 'U+007F'],
    ['a C1 control (NEL)', 'https://app.example.com/callback\u0085', 'U+0085'],
    ['a no-break space', 'https://app.example.com/\u00a0callback', 'U+00A0'],
    ['a line separator', 'https://app.example.com/callback\u2028', 'U+2028'],
  ];
  for (const [name, uri, codePoint] of invisible) {
    it(`refuses ${name}, naming the character`, () => {
      const error = refusal(() => checkClientUri('redirect_uris', uri));
      assert.equal(error.error, 'invalid_redirect_uri');
      assert.match(
        error.error_description,
        new RegExp(
          `^redirect_uris: ".*" contains a control character or whitespace \\(${codePoint.replace('+', '\\+')}\\); remove it`,
        ),
      );
      assert.doesNotMatch(
        error.error_description,
        // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what must not appear
        /[\u0000-\u001f\u007f-\u009f\u2028]/,
        'the description itself is one clean line',
      );
    });
  }

  it('reports other fields as invalid_client_metadata', () => {
    const error = refusal(() => checkClientUri('post_logout_redirect_uris', 'http://app.example.com/out'));
    assert.equal(error.error, 'invalid_client_metadata');
    assert.match(
      error.error_description,
      /^post_logout_redirect_uris: "http:\/\/app\.example\.com\/out" must use https/,
    );
  });
});

describe('client policy (check-client-policy.ts)', () => {
  const doors: RegistrationDoor[] = ['registration', 'cli', 'file'];

  it('accepts a confidential web client with each secret-based method, at every door', () => {
    for (const door of doors) {
      for (const method of ['client_secret_basic', 'client_secret_post']) {
        checkClientPolicy(web({ token_endpoint_auth_method: method }), door, NO_PRIVATE_HOSTS);
      }
      checkClientPolicy(web(), door, NO_PRIVATE_HOSTS); // client_secret_basic by default
    }
  });

  it('accepts private_key_jwt with a JWKS URI, and refuses it with a secret from an operator', () => {
    const client = {
      client_id: 'k',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: 'https://app.example.com/jwks',
      redirect_uris: ['https://app.example.com/cb'],
    };
    for (const door of doors) checkClientPolicy(client, door, NO_PRIVATE_HOSTS);
    assert.match(
      refusal(() => checkClientPolicy({ ...client, client_secret: SECRET }, 'file', NO_PRIVATE_HOSTS))
        .error_description,
      /private_key_jwt client has no client secret; remove client_secret/,
    );
    assert.match(
      refusal(() => checkClientPolicy({ ...client, jwks_uri: 'http://keys.example.com/jwks' }, 'cli', NO_PRIVATE_HOSTS))
        .error_description,
      /^jwks_uri: .* must use https/,
    );
  });

  it('accepts a public client without a secret, and refuses one with a secret', () => {
    const spa = {
      client_id: 'spa',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://localhost:5173/callback'],
    };
    for (const door of doors) checkClientPolicy(spa, door, NO_PRIVATE_HOSTS);
    const error = refusal(() => checkClientPolicy({ ...spa, client_secret: SECRET }, 'file', NO_PRIVATE_HOSTS));
    assert.equal(error.error, 'invalid_client_metadata');
    assert.match(
      error.error_description,
      /public client \(token_endpoint_auth_method "none"\) has no client secret; remove client_secret/,
    );
  });

  it('refuses other client authentication methods, naming the allowed ones', () => {
    for (const method of ['client_secret_jwt', 'tls_client_auth', 'self_signed_tls_client_auth', 'bogus', 7]) {
      const error = refusal(() =>
        checkClientPolicy(web({ token_endpoint_auth_method: method }), 'registration', NO_PRIVATE_HOSTS),
      );
      assert.equal(error.error, 'invalid_client_metadata');
      assert.match(
        error.error_description,
        /token_endpoint_auth_method must be "none" .*"client_secret_basic", "client_secret_post" or "private_key_jwt"/,
      );
    }
  });

  it('refuses an operator-given secret that is too short or missing', () => {
    assert.match(
      refusal(() => checkClientPolicy(web({ client_secret: 'short' }), 'file', NO_PRIVATE_HOSTS)).error_description,
      /client_secret of at least 32 characters/,
    );
    assert.match(
      refusal(() => checkClientPolicy(web({ client_secret: undefined }), 'file', NO_PRIVATE_HOSTS)).error_description,
      /client_secret of at least 32 characters/,
    );
  });

  it('needs at least one redirect URI', () => {
    for (const redirects of [undefined, [], 'https://app.example.com/cb']) {
      const error = refusal(() => checkClientPolicy(web({ redirect_uris: redirects }), 'cli', NO_PRIVATE_HOSTS));
      assert.equal(error.error, 'invalid_redirect_uri');
      assert.match(error.error_description, /redirect_uris: must be a non-empty array of absolute URIs/);
    }
  });

  it('checks post_logout_redirect_uris and backchannel_logout_uri like redirect URIs', () => {
    checkClientPolicy(
      web({
        post_logout_redirect_uris: ['https://app.example.com/bye', 'http://127.0.0.1:8000/bye'],
        backchannel_logout_uri: 'https://app.example.com/logout',
      }),
      'registration',
      NO_PRIVATE_HOSTS,
    );
    checkClientPolicy(web({ backchannel_logout_uri: 'http://localhost:8000/logout' }), 'cli', {
      outboundPrivateHosts: ['localhost:8000'],
    });
    const refusals: Array<[Record<string, unknown>, RegExp]> = [
      [{ post_logout_redirect_uris: ['https://app.example.com/*'] }, /^post_logout_redirect_uris: .*wildcard/],
      [{ post_logout_redirect_uris: ['https://app.example.com/bye#done'] }, /^post_logout_redirect_uris: .*fragment/],
      [{ post_logout_redirect_uris: ['http://app.example.com/bye'] }, /^post_logout_redirect_uris: .*must use https/],
      [{ post_logout_redirect_uris: 'https://app.example.com/bye' }, /^post_logout_redirect_uris: must be an array/],
      [{ backchannel_logout_uri: 'http://app.example.com/logout' }, /^backchannel_logout_uri: .*must use https/],
      [{ backchannel_logout_uri: 'https://*.example.com/logout' }, /^backchannel_logout_uri: .*wildcard/],
      [{ backchannel_logout_uri: 'https://app.example.com/logout#x' }, /^backchannel_logout_uri: .*fragment/],
    ];
    for (const [extra, message] of refusals) {
      const error = refusal(() => checkClientPolicy(web(extra), 'registration', NO_PRIVATE_HOSTS));
      assert.equal(error.error, 'invalid_client_metadata');
      assert.match(error.error_description, message);
    }
  });

  it('refuses invisible formatting and backslashes in URIs, and a client_name that could pass for another app', () => {
    for (const [field, value, message] of [
      ['redirect_uris', ['https://app.example.com/cb\u202e'], /U\+202E/],
      ['redirect_uris', ['https://app\u200b.example.com/cb'], /U\+200B/],
      ['redirect_uris', ['https://evil.example.net\\@app.a.test/cb'], /backslash/],
      ['client_name', 'Gateway\u202eelgooG', /invisible or control character \(U\+202E\)/],
      ['client_name', 'x'.repeat(101), /at most 100 characters/],
      ['client_name', '   ', /non-empty string/],
    ] as Array<[string, unknown, RegExp]>) {
      for (const door of doors) {
        const error = refusal(() => checkClientPolicy(web({ [field]: value }), door, NO_PRIVATE_HOSTS));
        assert.match(error.error_description, message, `${field} ${door}`);
      }
    }
    checkClientPolicy(web({ client_name: 'Shop Dashboard 2 (staging)' }), 'registration', NO_PRIVATE_HOSTS);
  });

  it('refuses control characters in every URI of a registration, informational ones too', () => {
    const fields: Array<[string, unknown]> = [
      ['post_logout_redirect_uris', ['https://app.example.com/bye\n']],
      ['backchannel_logout_uri', 'https://app.example.com/logout\t'],
      ['jwks_uri', 'https://app.example.com/jwks\r'],
      ['sector_identifier_uri', 'https://app.example.com/sector\u0085'],
      ['client_uri', 'https://app.example.com/\u0000'],
      ['logo_uri', 'https://app.example.com/logo.png\n'],
      ['policy_uri', 'https://app.example.com/privacy\u007f'],
      ['tos_uri', 'https://app.example.com/terms\u2028'],
      ['initiate_login_uri', 'https://app.example.com/login '],
    ];
    for (const [field, value] of fields) {
      for (const door of doors) {
        const error = refusal(() => checkClientPolicy(web({ [field]: value }), door, NO_PRIVATE_HOSTS));
        assert.equal(error.error, 'invalid_client_metadata');
        assert.match(error.error_description, new RegExp(`^${field}: .* contains a control character or whitespace`));
      }
    }
  });

  it('refuses a user name and password in the informational URIs, and never quotes the password', () => {
    for (const field of ['client_uri', 'logo_uri', 'policy_uri', 'tos_uri', 'initiate_login_uri']) {
      for (const value of ['https://bob:hunter2pw@app.example.com/x', 'https:bob:hunter2pw@app.example.com/x']) {
        for (const door of doors) {
          const error = refusal(() => checkClientPolicy(web({ [field]: value }), door, NO_PRIVATE_HOSTS));
          assert.equal(error.error, 'invalid_client_metadata');
          assert.match(error.error_description, new RegExp(`^${field}: .* must not contain a user name or password`));
          assert.doesNotMatch(error.error_description, /hunter2pw/, `${field} ${value} ${door}`);
        }
      }
    }
  });

  describe('URIs the gateway calls (SSRF)', () => {
    const targets: Array<[string, string, string]> = [
      ['http://127.0.0.1:6379/jwks', 'loopback', '127.0.0.1:6379'],
      ['http://localhost:8000/jwks', 'loopback', 'localhost:8000'],
      ['https://admin.localhost/jwks', 'loopback', 'admin.localhost:443'],
      ['http://[::1]:8080/jwks', 'loopback', '[::1]:8080'],
      ['https://[::ffff:127.0.0.1]/jwks', 'loopback', '[::ffff:7f00:1]:443'],
      ['https://2130706433/jwks', 'loopback', '127.0.0.1:443'],
      ['https://10.0.0.5/jwks', 'private', '10.0.0.5:443'],
      ['https://172.16.8.1:8443/jwks', 'private', '172.16.8.1:8443'],
      ['https://192.168.1.1/jwks', 'private', '192.168.1.1:443'],
      ['https://[fd00::5]/jwks', 'private', '[fd00::5]:443'],
      ['https://169.254.169.254/latest/meta-data/', 'link-local', '169.254.169.254:443'],
      ['https://[fe80::1]/jwks', 'link-local', '[fe80::1]:443'],
      ['https://0.0.0.0/jwks', 'unspecified', '0.0.0.0:443'],
      ['https://[::]/jwks', 'unspecified', '[::]:443'],
    ];

    it('refuses loopback, private, link-local and unspecified targets at every door, saying what to do', () => {
      for (const field of ['jwks_uri', 'backchannel_logout_uri', 'sector_identifier_uri']) {
        for (const [uri, kind, hostPort] of targets) {
          for (const door of doors) {
            const error = refusal(() => checkClientPolicy(web({ [field]: uri }), door, NO_PRIVATE_HOSTS));
            assert.equal(error.error, 'invalid_client_metadata', `${field} ${uri}`);
            assert.match(
              error.error_description,
              new RegExp(
                `^${field}: ".*" points at a ${kind} address \\(.*\\), which the gateway does not call \\(SSRF protection\\); ` +
                  `use a public https URI, or ask the gateway's operator to add ${hostPort.replace(/[[\].]/g, '\\$&')} to GATEWAY_OUTBOUND_PRIVATE_HOSTS$`,
              ),
            );
          }
        }
      }
    });

    it('accepts them when the operator allow-listed that host:port, and only that port', () => {
      for (const [uri, , hostPort] of targets) {
        checkClientPolicy(web({ jwks_uri: uri }), 'registration', { outboundPrivateHosts: [hostPort] });
      }
      checkClientPolicy(web({ backchannel_logout_uri: 'http://127.0.0.1:8000/logout' }), 'file', {
        outboundPrivateHosts: ['127.0.0.1:8000'],
      });
      const error = refusal(() =>
        checkClientPolicy(web({ backchannel_logout_uri: 'http://127.0.0.1:6379/logout' }), 'file', {
          outboundPrivateHosts: ['127.0.0.1:8000'],
        }),
      );
      assert.match(error.error_description, /points at a loopback address/);
    });

    it('accepts public hosts, and leaves redirect URIs (never called by the gateway) to their own rule', () => {
      checkClientPolicy(
        web({
          jwks_uri: 'https://keys.example.com/jwks',
          backchannel_logout_uri: 'https://app.example.com/logout',
          sector_identifier_uri: 'https://app.example.com/sector.json',
        }),
        'registration',
        NO_PRIVATE_HOSTS,
      );
      checkClientPolicy(
        web({
          redirect_uris: ['http://127.0.0.1:8000/cb', 'https://10.0.0.5/cb'],
          post_logout_redirect_uris: ['http://localhost:3000/bye'],
        }),
        'registration',
        NO_PRIVATE_HOSTS,
      );
    });
  });

  it('lets only an operator set first_party, resources and introspection_audiences', () => {
    for (const extra of [
      { first_party: true },
      { first_party: false },
      { resources: ['https://api.example.com'] },
      { introspection_audiences: ['app'] },
    ]) {
      checkClientPolicy(web(extra), 'cli', NO_PRIVATE_HOSTS);
      checkClientPolicy(web(extra), 'file', NO_PRIVATE_HOSTS);
      const error = refusal(() => checkClientPolicy(web(extra), 'registration', NO_PRIVATE_HOSTS));
      assert.equal(error.error, 'invalid_client_metadata');
      assert.match(
        error.error_description,
        /can be set only by an operator \(npx gateway clients add, or GATEWAY_CLIENTS_FILE\)/,
      );
    }
  });
});

describe('token exchange and introspection need an operator and a confidential client', () => {
  const grantTypes = ['authorization_code', 'refresh_token', TOKEN_EXCHANGE_GRANT];
  const spa = {
    client_id: 'spa',
    token_endpoint_auth_method: 'none',
    redirect_uris: ['http://localhost:5173/callback'],
  };

  it('gives the token-exchange grant through the CLI or the file only, to confidential clients only', () => {
    checkClientPolicy(web({ grant_types: grantTypes }), 'cli', NO_PRIVATE_HOSTS);
    checkClientPolicy(web({ grant_types: grantTypes }), 'file', NO_PRIVATE_HOSTS);
    assert.match(
      refusal(() => checkClientPolicy(web({ grant_types: grantTypes }), 'registration', NO_PRIVATE_HOSTS))
        .error_description,
      /can be given only by an operator/,
    );
    for (const door of ['cli', 'file'] as const) {
      const error = refusal(() => checkClientPolicy({ ...spa, grant_types: grantTypes }, door, NO_PRIVATE_HOSTS));
      assert.equal(error.error, 'invalid_client_metadata');
      assert.match(
        error.error_description,
        /public client .* cannot have the grant type urn:ietf:params:oauth:grant-type:token-exchange/,
      );
    }
  });

  it('refuses introspection_audiences on a public client', () => {
    checkClientPolicy(web({ introspection_audiences: ['app'] }), 'cli', NO_PRIVATE_HOSTS);
    assert.match(
      refusal(() => checkClientPolicy({ ...spa, introspection_audiences: ['app'] }, 'file', NO_PRIVATE_HOSTS))
        .error_description,
      /public client .* cannot have introspection_audiences/,
    );
  });
});

describe('introspection policy (token-policies.ts)', () => {
  const accessToken = { clientId: 'app', kind: 'AccessToken', aud: 'app' };

  it('lets a confidential client introspect its own tokens, and a resource server the access tokens of its audiences', () => {
    assert.equal(introspectionAllowed({ clientId: 'app', clientAuthMethod: 'client_secret_basic' }, accessToken), true);
    assert.equal(
      introspectionAllowed(
        { clientId: 'app', clientAuthMethod: 'client_secret_basic' },
        { clientId: 'app', kind: 'RefreshToken' },
      ),
      true,
    );
    const resourceServer = {
      clientId: 'rs',
      clientAuthMethod: 'private_key_jwt',
      introspection_audiences: ['app', 'https://api.example.com'],
    };
    assert.equal(introspectionAllowed(resourceServer, accessToken), true);
    assert.equal(
      introspectionAllowed(resourceServer, {
        clientId: 'other',
        kind: 'AccessToken',
        aud: ['https://api.example.com'],
      }),
      true,
    );
    assert.equal(
      introspectionAllowed(resourceServer, {
        clientId: 'other',
        kind: 'AccessToken',
        aud: 'https://api.example.com/v2',
      }),
      false,
      'compared exactly',
    );
    assert.equal(
      introspectionAllowed(resourceServer, { clientId: 'app', kind: 'RefreshToken' }),
      false,
      "never another client's refresh token",
    );
    assert.equal(
      introspectionAllowed({ clientId: 'nosy', clientAuthMethod: 'client_secret_basic' }, accessToken),
      false,
    );
  });

  it('tells a public client nothing, even about its own tokens', () => {
    assert.equal(introspectionAllowed({ clientId: 'app', clientAuthMethod: 'none' }, accessToken), false);
    assert.equal(
      introspectionAllowed(
        { clientId: 'spa', clientAuthMethod: 'none', introspection_audiences: ['app'] },
        accessToken,
      ),
      false,
    );
  });
});

describe('clients file (read-clients-file.ts, checkClientsFile)', () => {
  let dir: string;
  let provider: Provider;
  let store: Store;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-clients-'));
    store = createMemoryStore();
    provider = await createValidationProvider(config(), store, sealing);
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await store.close();
  });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const fileError = (fn: () => unknown) => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof ClientRegistryError, String(error));
      assert.equal(error.code, 'invalid_client_file');
      assert.doesNotMatch(error.message, /\n/, 'one line');
      return error.message;
    }
    return assert.fail('expected the file to be refused');
  };

  it('reads a YAML list, a JSON list and a mapping with clients:', () => {
    const yaml = file(
      'clients.yaml',
      `- client_id: flower\n  client_secret: ${SECRET}\n  redirect_uris: [https://flower.example.com/oauth2/callback]\n  first_party: true\n`,
    );
    const json = file(
      'clients.json',
      JSON.stringify([
        { client_id: 'spa', token_endpoint_auth_method: 'none', redirect_uris: ['http://localhost:5173/cb'] },
      ]),
    );
    const mapping = file(
      'mapping.yaml',
      `clients:\n  - client_id: x\n    client_secret: ${SECRET}\n    redirect_uris: ["https://x.example.com/cb"]\n`,
    );
    const checked = checkClientsFile(provider, readClientsFile(yaml), yaml, NO_PRIVATE_HOSTS);
    assert.equal(checked[0]?.client_id, 'flower');
    assert.equal(checked[0]?.['first_party'], true);
    assert.equal(checked[0]?.token_endpoint_auth_method, 'client_secret_basic');
    assert.deepEqual(
      checkClientsFile(provider, readClientsFile(json), json, NO_PRIVATE_HOSTS).map((c) => c.client_id),
      ['spa'],
    );
    assert.equal(readClientsFile(mapping).length, 1);
    assert.deepEqual(readClientsFile(file('empty.yaml', '')), []);
  });

  it('refuses unreadable or malformed files without quoting them', () => {
    assert.match(
      fileError(() => readClientsFile(join(dir, 'missing.yaml'))),
      /cannot read the clients file .*missing\.yaml \(ENOENT\)/,
    );
    const badJson = fileError(() => readClientsFile(file('bad.json', `[{"client_secret": "${SECRET}",}]`)));
    assert.match(badJson, /is not valid JSON/);
    assert.doesNotMatch(badJson, new RegExp(SECRET), 'the secret is not quoted back');
    assert.match(
      fileError(() => readClientsFile(file('bad.yaml', 'a: [1, 2'))),
      /is not valid YAML/,
    );
    assert.match(
      fileError(() => readClientsFile(file('scalar.yaml', 'just text'))),
      /must hold a list of clients/,
    );
    assert.match(
      fileError(() => readClientsFile(file('other.yaml', 'apps: []'))),
      /must hold a list of clients/,
    );
  });

  it('refuses a bad entry, naming the entry and what to fix', () => {
    const path = 'clients.yaml';
    assert.match(
      fileError(() => checkClientsFile(provider, ['x'], path, NO_PRIVATE_HOSTS)),
      /clients\.yaml: clients\[0\]: each client must be a mapping/,
    );
    assert.match(
      fileError(() => checkClientsFile(provider, [{ redirect_uris: [] }], path, NO_PRIVATE_HOSTS)),
      /clients\[0\]: client_id is required/,
    );
    const dup = web();
    assert.match(
      fileError(() => checkClientsFile(provider, [dup, dup], path, NO_PRIVATE_HOSTS)),
      /clients\[1\] \(app\): client_id appears twice/,
    );
    assert.match(
      fileError(() =>
        checkClientsFile(provider, [web({ redirect_uris: ['http://app.example.com/cb'] })], path, NO_PRIVATE_HOSTS),
      ),
      /clients\[0\] \(app\): redirect_uris: .*must use https/,
    );
    assert.match(
      fileError(() => checkClientsFile(provider, [web({ client_id: 'gateway-forward-auth' })], path, NO_PRIVATE_HOSTS)),
      /kept for the gateway's own clients/,
    );
    assert.match(
      fileError(() => checkClientsFile(provider, [web({ client_id: 'has space' })], path, NO_PRIVATE_HOSTS)),
      /may hold only letters, digits/,
    );
    assert.match(
      fileError(() => checkClientsFile(provider, [web({ client_id: '-evil' })], path, NO_PRIVATE_HOSTS)),
      /may not start with "-"/,
    );
    // oidc-provider's own schema runs after the policy: an unknown grant type is refused there.
    assert.match(
      fileError(() => checkClientsFile(provider, [web({ grant_types: ['password'] })], path, NO_PRIVATE_HOSTS)),
      /clients\[0\] \(app\): grant_types can only contain/,
    );
  });
});

describe('operator registry on a store (client-registry.ts)', () => {
  let store: Store;
  let registry: ClientRegistry;
  let provider: Provider;
  const events: Array<Record<string, unknown>> = [];
  const log = {
    info: (obj: object, msg: string) => events.push({ ...obj, msg }),
    warn: (obj: object, msg: string) => events.push({ ...obj, msg }),
  };
  const operator = { via: 'cli' as const, user: 'ada' };

  before(async () => {
    store = createMemoryStore();
    provider = await createValidationProvider(config(), store, sealing);
    registry = createClientRegistry({
      provider,
      store,
      sealing,
      log,
      secretRotationGrace: 60,
      policy: NO_PRIVATE_HOSTS,
    });
  });
  after(async () => store.close());

  it('adds a confidential client with a generated secret, shown once', async () => {
    events.length = 0;
    const added = await registry.add(
      { client_id: 'shop', client_name: 'Shop', redirect_uris: ['https://shop.example.com/cb'] },
      operator,
    );
    assert.ok(added.clientSecret && added.clientSecret.length >= 43);
    assert.equal(added.metadata.client_secret, undefined, 'the metadata handed back has no secret');
    const shown = await registry.show('shop');
    assert.equal(shown?.hasSecret, true);
    assert.equal(shown?.metadata.client_secret, undefined);
    assert.ok(!JSON.stringify(await registry.list()).includes(added.clientSecret), 'list never holds the secret');
    assert.equal(events.length, 1);
    assert.equal(events[0]?.['audit'], 'client.registered');
    assert.deepEqual(events[0]?.['actor'], operator);
    assert.ok(!JSON.stringify(events).includes(added.clientSecret), 'the audit event holds no secret');
  });

  it('adds a public client without a secret, and a first-party one', async () => {
    const spa = await registry.add(
      { client_id: 'spa', token_endpoint_auth_method: 'none', redirect_uris: ['http://localhost:5173/cb'] },
      operator,
    );
    assert.equal(spa.clientSecret, undefined);
    const tool = await registry.add(
      { client_name: 'Flower', first_party: true, redirect_uris: ['https://flower.example.com/cb'] },
      operator,
    );
    assert.match(tool.metadata.client_id, /^[A-Za-z0-9_-]{22}$/, 'a generated id');
    assert.equal(tool.metadata['first_party'], true);
  });

  it('refuses a duplicate id, and writes nothing for a refused client', async () => {
    await assert.rejects(
      registry.add({ client_id: 'shop', redirect_uris: ['https://shop.example.com/cb'] }, operator),
      { code: 'already_exists' },
    );
    const before = (await indexedClientIds(store)).length;
    await assert.rejects(
      registry.add({ client_id: 'bad', redirect_uris: ['https://bad.example.com/cb#x'] }, operator),
      { error: 'invalid_redirect_uri' },
    );
    await assert.rejects(
      registry.add(
        { client_id: 'bad', redirect_uris: ['https://bad.example.com/cb'], grant_types: ['implicit'] },
        operator,
      ),
      { error: 'invalid_client_metadata' },
    );
    assert.equal((await indexedClientIds(store)).length, before, 'not even indexed');
    assert.equal(await registry.show('bad'), undefined);
  });

  it('rotates a secret: the old one matches only during the grace period', async () => {
    const now = Date.now();
    const old =
      (await registry.add({ client_id: 'rot', redirect_uris: ['https://rot.example.com/cb'] }, operator))
        .clientSecret ?? '';
    const rotated = await registry.rotateSecret('rot', operator);
    assert.notEqual(rotated.clientSecret, old);
    const until = rotated.previousSecretValidUntil?.getTime() ?? 0;
    assert.ok(until >= now + 59_000 && until <= Date.now() + 60_000, 'grace of 60 s');
    assert.equal(await matchesPreviousSecret(store, sealing, 'rot', old), true);
    assert.equal(await matchesPreviousSecret(store, sealing, 'rot', old, until + 1), false, 'refused after the grace');
    assert.equal(
      await matchesPreviousSecret(store, sealing, 'rot', rotated.clientSecret),
      false,
      'the new one is current, not previous',
    );
    assert.equal((await registry.show('rot'))?.previousSecretsValidUntil.length, 1);
    const last = events.at(-1);
    assert.equal(last?.['audit'], 'client.secret_rotated');
    assert.ok(!JSON.stringify(last).includes(old) && !JSON.stringify(last).includes(rotated.clientSecret));
    await assert.rejects(registry.rotateSecret('spa', operator), { code: 'no_secret' });
    await assert.rejects(registry.rotateSecret('nobody', operator), { code: 'not_found' });
  });

  it('removes a client and forgets its previous secrets', async () => {
    await registry.remove('rot', operator);
    assert.equal(await registry.show('rot'), undefined);
    assert.ok(!(await registry.list()).some((view) => view.metadata.client_id === 'rot'));
    assert.equal((await registry.show('shop'))?.metadata.client_id, 'shop');
    await assert.rejects(registry.remove('rot', operator), { code: 'not_found' });
    await assert.rejects(registry.add({ client_id: 'rot', redirect_uris: ['https://rot.example.com/cb'] }, operator), {
      code: 'id_retired',
      message: /belonged to a removed client; choose another id/,
    });
    assert.equal(events.at(-1)?.['audit'], 'client.removed');
  });

  it('syncs the clients file: adds, updates with grace for a new secret, removes what left the file', async () => {
    events.length = 0;
    const first = await registry.syncFile(
      [web({ client_id: 'f1' }), web({ client_id: 'f2', first_party: true })],
      'clients.yaml',
    );
    assert.deepEqual(first, { added: ['f1', 'f2'], updated: [], removed: [], unchanged: [] });
    const again = await registry.syncFile(
      [web({ client_id: 'f1' }), web({ client_id: 'f2', first_party: true })],
      'clients.yaml',
    );
    assert.deepEqual(again.unchanged, ['f1', 'f2'], 'a restart with the same file writes nothing');
    const newSecret = `${SECRET}-v2`;
    const third = await registry.syncFile([web({ client_id: 'f1', client_secret: newSecret })], 'clients.yaml');
    assert.deepEqual(third, { added: [], updated: ['f1'], removed: ['f2'], unchanged: [] });
    assert.equal(await matchesPreviousSecret(store, sealing, 'f1', SECRET), true, "the file's old secret is in grace");
    assert.equal((await registry.show('f1'))?.source, 'file');
    assert.equal(await registry.show('f2'), undefined);
    assert.deepEqual(
      events.map((event) => event['audit']),
      ['client.registered', 'client.registered', 'client.updated', 'client.secret_rotated', 'client.removed'],
    );
    assert.deepEqual(events[0]?.['actor'], { via: 'file', file: 'clients.yaml' });
    assert.ok(!JSON.stringify(events).includes(SECRET), 'no secret in any event');
  });

  it('refuses to remove or rotate a client the file manages, and a bad file writes nothing', async () => {
    await assert.rejects(registry.remove('f1', operator), {
      code: 'file_managed',
      message: /comes from GATEWAY_CLIENTS_FILE: remove it there/,
    });
    await assert.rejects(registry.rotateSecret('f1', operator), { code: 'file_managed' });
    const before = JSON.stringify(await registry.list());
    await assert.rejects(
      registry.syncFile(
        [web({ client_id: 'f3' }), web({ client_id: 'f4', redirect_uris: ['https://*.example.com/cb'] })],
        'clients.yaml',
      ),
      { code: 'invalid_client_file' },
    );
    assert.equal(JSON.stringify(await registry.list()), before, 'f3 was not written either');
  });
});
