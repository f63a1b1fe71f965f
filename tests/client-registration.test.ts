/**
 * Client registration over real HTTP: RFC 7591 registration with the initial access token, RFC
 * 7592 read/update/delete with the registration access token, the registration policy answered
 * with `invalid_client_metadata` / `invalid_redirect_uri`, bad bodies answered with 400 and
 * nothing stored, consent for third-party clients (remembered) and none for first-party ones, the
 * static clients file, and a rotated file secret that keeps working for its grace period only.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { loadConfig } from '../config/load-config.ts';
import { createMemoryStore } from '../adapters/memory-store.ts';
import type { Store } from '../adapters/store.ts';
import { buildGateway } from '../gateway/app/build-gateway.ts';
import { indexedClientIds } from '../gateway/clients/client-index.ts';
import { createBrowser } from './helpers/browser.ts';
import { startFakeGoogle, type FakeGoogle } from './helpers/fake-google.ts';
import { authorizationRefused, introspectAs, signInWithConsent, signInWithoutConsent } from './helpers/consent.ts';
import { authorizeInBrowser, discoverApp, startAuthorization } from './helpers/relying-party.ts';
import { freePort, UPSTREAM_CLIENT } from './helpers/start-gateway.ts';

const REGISTRATION_TOKEN = 'initial-access-token-0123456789abcdef0123';

/** A gateway on loopback whose log lines are kept for the test to read. */
interface LoggedGateway {
  issuer: string;
  app: FastifyInstance;
  google: FakeGoogle;
  store: Store;
  logs: Array<Record<string, unknown>>;
  rawLog: string[];
  close(): Promise<void>;
}

async function startLoggedGateway(
  env: Record<string, string>,
  store: Store = createMemoryStore(),
): Promise<LoggedGateway> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const google = await startFakeGoogle({
    clients: [
      {
        client_id: UPSTREAM_CLIENT.id,
        client_secret: UPSTREAM_CLIENT.secret,
        redirect_uris: [`${issuer}/upstream/callback`],
      },
    ],
  });
  const loaded = loadConfig({
    GATEWAY_ISSUER: issuer,
    GATEWAY_PORT: String(port),
    GATEWAY_STORE: 'memory://',
    GATEWAY_SECRETS: 'test-secret-0123456789abcdef0123456789abcdef',
    UPSTREAM_ISSUER: google.issuer,
    UPSTREAM_CLIENT_ID: UPSTREAM_CLIENT.id,
    UPSTREAM_CLIENT_SECRET: UPSTREAM_CLIENT.secret,
    ...env,
  });
  if (!loaded.ok) {
    await google.close();
    throw new Error(loaded.problems.join('\n'));
  }
  const logs: Array<Record<string, unknown>> = [];
  const rawLog: string[] = [];
  const stream = {
    write(line: string) {
      rawLog.push(line);
      logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  let app: FastifyInstance;
  try {
    app = await buildGateway(loaded.config, { store, logger: { level: 'info', stream } });
  } catch (error) {
    await google.close();
    throw error;
  }
  await app.listen({ host: '127.0.0.1', port });
  return {
    issuer,
    app,
    google,
    store,
    logs,
    rawLog,
    async close() {
      await app.close();
      await google.close();
    },
  };
}

interface Registered {
  client_id: string;
  client_secret?: string;
  registration_access_token: string;
  registration_client_uri: string;
  redirect_uris: string[];
  [key: string]: unknown;
}

/** POSTs JSON to the registration endpoint; `token: null` sends no Authorization header. */
function post(
  url: string,
  body: unknown,
  token: string | null = REGISTRATION_TOKEN,
  contentType = 'application/json',
): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': contentType, ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function oauthError(response: Response, status: number, error: string, description?: RegExp): Promise<void> {
  const text = await response.text();
  assert.equal(response.status, status, text);
  const body = JSON.parse(text) as { error: string; error_description?: string };
  assert.equal(body.error, error, text);
  if (description) assert.match(body.error_description ?? '', description);
}

describe('RFC 7591/7592 dynamic registration', () => {
  let gw: LoggedGateway;
  let registrationEndpoint: string;
  const webClient = {
    client_name: 'Shop (third party)',
    redirect_uris: ['http://127.0.0.1:9/shop/callback'],
    post_logout_redirect_uris: ['http://127.0.0.1:9/shop/signed-out'],
    grant_types: ['authorization_code', 'refresh_token'],
  };

  before(async () => {
    gw = await startLoggedGateway({
      GATEWAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
      GATEWAY_OUTBOUND_PRIVATE_HOSTS: '127.0.0.1:8000',
    });
    const discovery = (await (await fetch(`${gw.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    registrationEndpoint = String(discovery['registration_endpoint']);
  });
  after(async () => gw?.close());

  it('advertises the registration endpoint and the allowed client authentication methods', async () => {
    assert.equal(registrationEndpoint, `${gw.issuer}/reg`);
    const discovery = (await (await fetch(`${gw.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.deepEqual([...(discovery['token_endpoint_auth_methods_supported'] as string[])].sort(), [
      'client_secret_basic',
      'client_secret_post',
      'none',
      'private_key_jwt',
    ]);
  });

  it('refuses a missing or wrong initial access token with 401', async () => {
    const missing = await post(registrationEndpoint, webClient, null);
    assert.equal(missing.status, 401);
    assert.match(missing.headers.get('www-authenticate') ?? '', /^Bearer /);
    await missing.body?.cancel();
    await oauthError(
      await post(registrationEndpoint, webClient, 'wrong-token-0123456789abcdef0123456789'),
      401,
      'invalid_token',
    );
  });

  it('registers, reads, updates and deletes a client, and a registered client signs in with consent remembered', async () => {
    const created = await post(registrationEndpoint, webClient);
    assert.equal(created.status, 201);
    assert.equal(created.headers.get('cache-control'), 'no-store');
    const client = (await created.json()) as Registered;
    assert.ok(client.client_id && client.client_secret && client.registration_access_token);
    assert.equal(client.registration_client_uri, `${gw.issuer}/reg/${client.client_id}`);
    assert.equal(client.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(client['first_party'], undefined, 'never first-party through registration');

    // Signs in right away, through the consent page (third party); the grant is remembered.
    const app = await discoverApp(gw.issuer, {
      client_id: client.client_id,
      client_secret: client.client_secret ?? '',
      redirect_uris: client.redirect_uris,
    });
    const browser = createBrowser();
    const tokens = await signInWithConsent(browser, gw, app, 'ada@example.com', webClient.client_name);
    assert.ok(tokens.access_token && tokens.id_token);
    await signInWithoutConsent(browser, gw, app, 'ada@example.com');

    // RFC 7592 §2.1 read.
    const auth = { authorization: `Bearer ${client.registration_access_token}` };
    const read = await fetch(client.registration_client_uri, { headers: auth });
    assert.equal(read.status, 200);
    const readBody = (await read.json()) as Registered;
    assert.equal(readBody.client_id, client.client_id);
    assert.deepEqual(readBody.redirect_uris, webClient.redirect_uris);
    await oauthError(
      await fetch(client.registration_client_uri, { headers: { authorization: 'Bearer nope' } }),
      401,
      'invalid_token',
    );

    // RFC 7592 §2.2 update: a full replacement; the registration access token rotates.
    const {
      registration_access_token: _rat,
      registration_client_uri: _uri,
      client_id_issued_at: _issued,
      client_secret_expires_at: _expires,
      ...current
    } = readBody;
    const refusedFirstParty = await fetch(client.registration_client_uri, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ ...current, first_party: true }),
    });
    await oauthError(refusedFirstParty, 400, 'invalid_client_metadata', /first_party can be set only by an operator/);
    const refusedUri = await fetch(client.registration_client_uri, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ ...current, redirect_uris: ['http://shop.example.com/callback'] }),
    });
    await oauthError(refusedUri, 400, 'invalid_redirect_uri', /must use https/);
    const updated = await fetch(client.registration_client_uri, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({
        ...current,
        client_name: 'Shop v2',
        redirect_uris: ['http://127.0.0.1:9/shop/callback', 'https://shop.example.com/callback'],
      }),
    });
    assert.equal(updated.status, 200, await updated.clone().text());
    const updatedBody = (await updated.json()) as Registered;
    assert.equal(updatedBody['client_name'], 'Shop v2');
    assert.equal(updatedBody.client_secret, client.client_secret, 'the secret is kept');
    assert.notEqual(
      updatedBody.registration_access_token,
      client.registration_access_token,
      'the registration access token rotated',
    );
    await oauthError(await fetch(client.registration_client_uri, { headers: auth }), 401, 'invalid_token');
    const newAuth = { authorization: `Bearer ${updatedBody.registration_access_token}` };

    // RFC 7592 §2.3 delete: the client stops working at once.
    const deleted = await fetch(client.registration_client_uri, { method: 'DELETE', headers: newAuth });
    assert.equal(deleted.status, 204);
    await oauthError(await fetch(client.registration_client_uri, { headers: newAuth }), 401, 'invalid_token');
    await oauthError(
      await introspectAs(gw.issuer, client.client_id, client.client_secret ?? ''),
      401,
      'invalid_client',
    );
    assert.equal((await authorizationRefused(createBrowser(), gw, app, 'ada@example.com')).status, 400);

    // Audit: who, what, when, and never a secret or a token.
    const audit = gw.logs.filter(
      (line) =>
        typeof line['audit'] === 'string' &&
        line['audit'].startsWith('client.') &&
        line['client_id'] === client.client_id,
    );
    assert.deepEqual(
      audit.map((line) => line['audit']),
      ['client.registered', 'client.updated', 'client.removed'],
    );
    for (const line of audit) {
      assert.deepEqual(line['actor'], { via: 'registration', ip: '127.0.0.1' });
      assert.ok(typeof line['at'] === 'string' && typeof line['time'] === 'number');
    }
    assert.deepEqual(audit[1]?.['fields'], ['client_name', 'redirect_uris']);
    const everything = gw.rawLog.join('');
    for (const secret of [
      client.client_secret ?? '',
      client.registration_access_token,
      updatedBody.registration_access_token,
      tokens.access_token,
    ]) {
      assert.ok(!everything.includes(secret), 'no secret or token in the log');
    }
  });

  it('reads and changes the client as stored (RFC 7592), never the copy kept for token requests', async () => {
    const created = await post(registrationEndpoint, webClient);
    assert.equal(created.status, 201);
    const client = (await created.json()) as Registered;
    // A token request: the gateway now keeps the client's record for up to a second.
    assert.equal((await introspectAs(gw.issuer, client.client_id, client.client_secret ?? '')).status, 200);
    // Another writer removes it without the announcement every gateway write makes (as a lost
    // message would): the kept copy is still there, and still answers token requests.
    await gw.store.delete(`oidc:Client:${client.client_id}`);
    assert.equal((await introspectAs(gw.issuer, client.client_id, client.client_secret ?? '')).status, 200);
    // The management endpoint reads the store: the client is gone there, so it cannot be read,
    // nor written back from the copy.
    const auth = { authorization: `Bearer ${client.registration_access_token}` };
    await oauthError(await fetch(client.registration_client_uri, { headers: auth }), 401, 'invalid_token');
    const { registration_access_token: _t, registration_client_uri: _u, ...metadata } = client;
    const put = await fetch(client.registration_client_uri, {
      method: 'PUT',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(metadata),
    });
    await oauthError(put, 401, 'invalid_token');
    assert.equal(await gw.store.get(`oidc:Client:${client.client_id}`), undefined, 'nothing written back');
  });

  it('registers a public client without a secret, which must use PKCE with S256', async () => {
    const created = await post(registrationEndpoint, {
      client_name: 'SPA',
      token_endpoint_auth_method: 'none',
      redirect_uris: ['http://localhost:5173/callback'],
    });
    assert.equal(created.status, 201);
    const client = (await created.json()) as Registered;
    assert.equal(client.client_secret, undefined, 'no secret for a public client');
    const app = await discoverApp(gw.issuer, {
      client_id: client.client_id,
      redirect_uris: client.redirect_uris,
      token_endpoint_auth_method: 'none',
    });
    const browser = createBrowser();
    const tokens = await signInWithConsent(browser, gw, app, 'spa-user@example.com', 'SPA');
    assert.ok(tokens.access_token);

    for (const [name, change] of [
      [
        'no code_challenge',
        (url: URL) => {
          url.searchParams.delete('code_challenge');
          url.searchParams.delete('code_challenge_method');
        },
      ],
      [
        'the plain method',
        (url: URL) => {
          url.searchParams.set('code_challenge_method', 'plain');
        },
      ],
    ] as const) {
      const start = await startAuthorization(app);
      change(start.url);
      const result = await authorizeInBrowser(browser, app, start, gw.google.issuer, { email: 'spa-user@example.com' });
      assert.equal(result.callback?.searchParams.get('code'), null, `${name}: no code`);
      assert.equal(result.callback?.searchParams.get('error'), 'invalid_request', name);
    }
  });

  it('accepts loopback http redirect URIs for native and development apps', async () => {
    for (const uri of ['http://127.0.0.1:8080/cb', 'http://[::1]:8080/cb', 'http://localhost/cb']) {
      const created = await post(registrationEndpoint, {
        redirect_uris: [uri],
        token_endpoint_auth_method: 'none',
        application_type: 'native',
      });
      assert.equal(created.status, 201, `${uri}: ${await created.clone().text()}`);
      await created.body?.cancel();
    }
  });

  it('refuses each policy violation with the error and a description of what to fix, storing nothing', async () => {
    const before = (await indexedClientIds(gw.store)).length;
    const cases: Array<[string, Record<string, unknown>, string, RegExp]> = [
      [
        'a wildcard',
        { redirect_uris: ['https://*.example.com/callback'] },
        'invalid_redirect_uri',
        /wildcard "\*"; register every exact URI instead/,
      ],
      [
        'a fragment',
        { redirect_uris: ['https://app.example.com/callback#frag'] },
        'invalid_redirect_uri',
        /has a fragment/,
      ],
      [
        'http on a public host',
        { redirect_uris: ['http://app.example.com/callback'] },
        'invalid_redirect_uri',
        /must use https \(plain http is allowed only on 127\.0\.0\.1, \[::1\] or localhost/,
      ],
      ['no redirect URI', { redirect_uris: [] }, 'invalid_redirect_uri', /redirect_uris: must be a non-empty array/],
      [
        'a bad post-logout URI',
        { redirect_uris: ['https://app.example.com/cb'], post_logout_redirect_uris: ['http://app.example.com/bye'] },
        'invalid_client_metadata',
        /^post_logout_redirect_uris: .*must use https/,
      ],
      [
        'a bad back-channel logout URI',
        { redirect_uris: ['https://app.example.com/cb'], backchannel_logout_uri: 'https://app.example.com/logout#x' },
        'invalid_client_metadata',
        /^backchannel_logout_uri: .*fragment/,
      ],
      [
        'first_party',
        { redirect_uris: ['https://app.example.com/cb'], first_party: true },
        'invalid_client_metadata',
        /^first_party can be set only by an operator/,
      ],
      [
        'resources',
        { redirect_uris: ['https://app.example.com/cb'], resources: ['https://api.example.com'] },
        'invalid_client_metadata',
        /^resources can be set only by an operator/,
      ],
      [
        'client_secret_jwt',
        { redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'client_secret_jwt' },
        'invalid_client_metadata',
        /token_endpoint_auth_method must be "none"/,
      ],
      [
        'private_key_jwt without keys',
        { redirect_uris: ['https://app.example.com/cb'], token_endpoint_auth_method: 'private_key_jwt' },
        'invalid_client_metadata',
        /jwks or jwks_uri is mandatory/,
      ],
      [
        'an unsupported grant',
        { redirect_uris: ['https://app.example.com/cb'], grant_types: ['implicit'] },
        'invalid_client_metadata',
        /grant_types/,
      ],
      [
        'a newline in a redirect URI',
        { redirect_uris: ['https://app.example.com/cb\n'] },
        'invalid_redirect_uri',
        /^redirect_uris: "https:\/\/app\.example\.com\/cb\\n" contains a control character or whitespace \(U\+000A\)/,
      ],
      [
        'a C1 control in a redirect URI',
        { redirect_uris: ['https://app.example.com/\u0085cb'] },
        'invalid_redirect_uri',
        /control character or whitespace \(U\+0085\)/,
      ],
      [
        'a tab in a post-logout URI',
        { redirect_uris: ['https://app.example.com/cb'], post_logout_redirect_uris: ['https://app.example.com/\tbye'] },
        'invalid_client_metadata',
        /^post_logout_redirect_uris: .*\(U\+0009\)/,
      ],
      [
        'a loopback JWKS URI',
        {
          redirect_uris: ['https://app.example.com/cb'],
          token_endpoint_auth_method: 'private_key_jwt',
          jwks_uri: 'http://127.0.0.1:6379/jwks',
        },
        'invalid_client_metadata',
        /^jwks_uri: "http:\/\/127\.0\.0\.1:6379\/jwks" points at a loopback address \(127\.0\.0\.1\), which the gateway does not call \(SSRF protection\); use a public https URI, or ask the gateway's operator to add 127\.0\.0\.1:6379 to GATEWAY_OUTBOUND_PRIVATE_HOSTS$/,
      ],
      [
        'a cloud metadata back-channel logout URI',
        {
          redirect_uris: ['https://app.example.com/cb'],
          backchannel_logout_uri: 'https://169.254.169.254/latest/meta-data/',
        },
        'invalid_client_metadata',
        /^backchannel_logout_uri: .*points at a link-local address/,
      ],
      [
        'a private sector identifier URI',
        { redirect_uris: ['https://app.example.com/cb'], sector_identifier_uri: 'https://10.0.0.1/sector.json' },
        'invalid_client_metadata',
        /^sector_identifier_uri: .*points at a private address/,
      ],
    ];
    for (const [name, body, error, description] of cases) {
      await oauthError(await post(registrationEndpoint, body), 400, error, description).catch((cause: Error) => {
        throw new Error(`${name}: ${cause.message}`);
      });
    }
    assert.equal((await indexedClientIds(gw.store)).length, before, 'nothing stored');
    const refusals = gw.logs.filter((line) => line['msg'] === 'client registration request refused');
    assert.ok(refusals.length >= cases.length, 'refusals are logged');
  });

  it('accepts a loopback JWKS URI only on the host:port the operator allow-listed', async () => {
    const listed = {
      redirect_uris: ['https://app.example.com/cb'],
      token_endpoint_auth_method: 'private_key_jwt',
      jwks_uri: 'http://127.0.0.1:8000/jwks',
    };
    const created = await post(registrationEndpoint, listed);
    assert.equal(created.status, 201, await created.clone().text());
    await created.body?.cancel();
    await oauthError(
      await post(registrationEndpoint, { ...listed, jwks_uri: 'http://127.0.0.1:8001/jwks' }),
      400,
      'invalid_client_metadata',
      /points at a loopback address/,
    );
  });

  it('answers a non-JSON, non-object or wrongly typed body with 400 and an oversized one with 413, storing nothing', async () => {
    const before = (await indexedClientIds(gw.store)).length;
    await oauthError(
      await post(registrationEndpoint, '{"redirect_uris": [', REGISTRATION_TOKEN),
      400,
      'invalid_request',
      /failed to parse/,
    );
    await oauthError(await post(registrationEndpoint, '[]'), 400, 'invalid_request', /must be a JSON object/);
    await oauthError(
      await post(registrationEndpoint, 'redirect_uris=x', REGISTRATION_TOKEN, 'application/x-www-form-urlencoded'),
      400,
      'invalid_request',
      /only application\/json/,
    );
    const huge = JSON.stringify({ redirect_uris: ['https://app.example.com/cb'], client_name: 'x'.repeat(100_000) });
    // Over oidc-provider's 56 KiB body limit: 413 (RFC 9110 §15.5.14), refused before it is read.
    await oauthError(await post(registrationEndpoint, huge), 413, 'invalid_request');
    assert.equal((await indexedClientIds(gw.store)).length, before);
  });
});

describe('dynamic registration is off without GATEWAY_REGISTRATION_TOKEN', () => {
  let gw: LoggedGateway;
  before(async () => {
    gw = await startLoggedGateway({});
  });
  after(async () => gw?.close());

  it('has no registration endpoint', async () => {
    const discovery = (await (await fetch(`${gw.issuer}/.well-known/openid-configuration`)).json()) as Record<
      string,
      unknown
    >;
    assert.equal(discovery['registration_endpoint'], undefined);
    const response = await post(`${gw.issuer}/reg`, { redirect_uris: ['https://app.example.com/cb'] });
    assert.equal(response.status, 404);
    await response.body?.cancel();
  });
});

describe('static clients file (GATEWAY_CLIENTS_FILE)', () => {
  let dir: string;
  const store = createMemoryStore();
  const secretV1 = 'flower-secret-v1-0123456789abcdef0123456789';
  const secretV2 = 'flower-secret-v2-0123456789abcdef0123456789';
  const fileFor = (secret: string) => {
    const path = join(dir, 'clients.yaml');
    writeFileSync(
      path,
      [
        "# the team's internal tools",
        '- client_id: flower',
        '  client_name: Celery Flower',
        `  client_secret: ${secret}`,
        '  redirect_uris: ["http://127.0.0.1:9/flower/callback"]',
        '  first_party: true',
        '- client_id: partner',
        '  client_name: Partner app',
        `  client_secret: ${secret}-partner`,
        '  redirect_uris: ["http://127.0.0.1:9/partner/callback"]',
        '',
      ].join('\n'),
    );
    return path;
  };
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'gateway-clients-file-'));
  });
  after(async () => {
    rmSync(dir, { recursive: true, force: true });
    await store.close();
  });

  it('loads its clients at start: a first-party one signs in without consent, a third-party one with it', async () => {
    const gw = await startLoggedGateway({ GATEWAY_CLIENTS_FILE: fileFor(secretV1) }, store);
    try {
      const flower = await discoverApp(gw.issuer, {
        client_id: 'flower',
        client_secret: secretV1,
        redirect_uris: ['http://127.0.0.1:9/flower/callback'],
      });
      const partner = await discoverApp(gw.issuer, {
        client_id: 'partner',
        client_secret: `${secretV1}-partner`,
        redirect_uris: ['http://127.0.0.1:9/partner/callback'],
      });
      const browser = createBrowser();
      await signInWithoutConsent(browser, gw, flower, 'ops@example.com');
      await signInWithConsent(browser, gw, partner, 'ops@example.com', 'Partner app');
      const loaded = gw.logs.find((line) => line['msg'] === 'clients file loaded');
      assert.equal(loaded?.['added'], 2);
    } finally {
      await gw.close();
    }
  });

  it('refuses to start on a bad file, with a message naming the entry and the fix', async () => {
    const path = join(dir, 'bad.yaml');
    writeFileSync(
      path,
      `- client_id: bad\n  client_secret: ${secretV1}\n  redirect_uris: ["https://*.example.com/cb"]\n`,
    );
    await assert.rejects(startLoggedGateway({ GATEWAY_CLIENTS_FILE: path }, store), {
      code: 'invalid_client_file',
      message: /bad\.yaml: clients\[0\] \(bad\): redirect_uris: .*wildcard/,
    });
  });

  it('gives a changed secret the rotation grace: the old one works during it, then stops', async () => {
    const gw = await startLoggedGateway(
      { GATEWAY_CLIENTS_FILE: fileFor(secretV2), GATEWAY_SECRET_ROTATION_GRACE: '2' },
      store,
    );
    try {
      const rotated = gw.logs.filter((line) => line['audit'] === 'client.secret_rotated');
      assert.deepEqual(rotated.map((line) => line['client_id']).sort(), ['flower', 'partner']);
      assert.equal((await introspectAs(gw.issuer, 'flower', secretV2)).status, 200, 'the new secret works');
      assert.equal(
        (await introspectAs(gw.issuer, 'flower', secretV1)).status,
        200,
        'the old secret works during the grace',
      );
      const flower = await discoverApp(gw.issuer, {
        client_id: 'flower',
        client_secret: secretV1,
        redirect_uris: ['http://127.0.0.1:9/flower/callback'],
      });
      await signInWithoutConsent(createBrowser(), gw, flower, 'ops@example.com');
      await new Promise((resolve) => setTimeout(resolve, 2_200));
      await oauthError(await introspectAs(gw.issuer, 'flower', secretV1), 401, 'invalid_client');
      assert.equal((await introspectAs(gw.issuer, 'flower', secretV2)).status, 200);
      assert.equal((await introspectAs(gw.issuer, 'flower', 'any-other-secret-0123456789abcdef0123')).status, 401);
    } finally {
      await gw.close();
    }
  });
});
