/**
 * `npx gateway clients …` run as a subprocess (`./node_modules/.bin/node bin/gateway.ts`) against
 * two gateways sharing one real Redis (127.0.0.1:6379). The gateways and the CLI use the store's
 * default key prefix, so the test takes a Redis database of its own: the first of 15…8 whose lock
 * it wins (other runs of this file, e.g. a parallel `npm test`, take another one), with its keys
 * removed before and after. A client the CLI adds signs in through either gateway at once;
 * a rotated secret keeps working for the grace period only; a removed client is refused by both
 * gateways on the very next request. Secrets are printed once and never by list or show.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient } from '@keyv/redis';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { authorizationRefused, introspectAs, signInWithConsent, signInWithoutConsent } from './helpers/consent.ts';
import { discoverApp } from './helpers/relying-party.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const REDIS_URL = 'redis://127.0.0.1:6379';
const LOCK_KEY = 'clients-cli-test:lock';
const LOCK_MS = 10 * 60 * 1000;
const KEY_PATTERN = 'gateway:*';
const GRACE_SECONDS = 2;
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SECRETS = 'test-secret-0123456789abcdef0123456789abcdef';

/** The store URL of the claimed database, e.g. redis://127.0.0.1:6379/15. */
let STORE = '';
const lockValue = randomUUID();

/** Claims a database (15 down to 8) for this run; fails loudly when Redis cannot be reached. */
async function claimDatabase(): Promise<void> {
  for (let db = 15; db >= 8; db -= 1) {
    const redis = createClient({ url: `${REDIS_URL}/${db}` });
    await redis.connect();
    try {
      if (
        (await redis.set(LOCK_KEY, lockValue, { condition: 'NX', expiration: { type: 'PX', value: LOCK_MS } })) === 'OK'
      ) {
        STORE = `${REDIS_URL}/${db}`;
        return;
      }
    } finally {
      redis.destroy();
    }
  }
  throw new Error('no free Redis database among 15…8 for this test (all locked by other runs)');
}

/** Deletes the gateway's keys from the claimed database; with `release`, its lock too. */
async function removeTestKeys(release = false): Promise<void> {
  if (!STORE) return;
  const redis = createClient({ url: STORE });
  await redis.connect();
  try {
    for await (const keys of redis.scanIterator({ MATCH: KEY_PATTERN, COUNT: 500 })) {
      if (keys.length > 0) await redis.del(keys);
    }
    if (release && (await redis.get(LOCK_KEY)) === lockValue) await redis.del(LOCK_KEY);
  } finally {
    redis.destroy();
  }
}

async function redisKeyExists(key: string): Promise<boolean> {
  const redis = createClient({ url: STORE });
  await redis.connect();
  try {
    return (await redis.exists(key)) === 1;
  } finally {
    redis.destroy();
  }
}

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with the gateways' settings (only these: nothing inherited from the test's env). */
function cli(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(GATEWAY|UPSTREAM)_|^NODE_ENV$/.test(key)),
  );
  return new Promise((resolve) => {
    execFile(
      './node_modules/.bin/node',
      ['bin/gateway.ts', ...args],
      {
        cwd: ROOT,
        env: {
          ...inherited,
          GATEWAY_STORE: STORE,
          GATEWAY_SECRETS: SECRETS,
          GATEWAY_SECRET_ROTATION_GRACE: String(GRACE_SECONDS),
          GATEWAY_LOG_LEVEL: 'info',
          ...env,
        },
        timeout: 30_000,
      },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

/** The audit events the CLI wrote to stderr (JSON lines). */
function auditLines(result: CliResult): Array<Record<string, unknown>> {
  return result.stderr
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A bad-input run: a non-zero exit and exactly one line on stderr, nothing on stdout. */
function assertOneLineError(result: CliResult, code: number, message: RegExp): void {
  assert.equal(result.code, code, `exit code (stderr: ${result.stderr})`);
  assert.equal(result.stdout, '');
  const lines = result.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, `one line: ${result.stderr}`);
  assert.match(lines[0] ?? '', /^gateway: /);
  assert.match(lines[0] ?? '', message);
}

/** openid-client's error for a 401 `invalid_client` from the token endpoint (a Basic challenge). */
function isInvalidClient(error: unknown): boolean {
  const challenge = error as { status?: number; cause?: Array<{ parameters?: { error?: string } }> };
  assert.equal(challenge.status, 401);
  assert.equal(challenge.cause?.[0]?.parameters?.error, 'invalid_client');
  return true;
}

describe('npx gateway clients, against two running gateways on one Redis', () => {
  let gw1: StartedGateway;
  let gw2: StartedGateway;
  let dir: string;

  before(async () => {
    await claimDatabase();
    await removeTestKeys();
    const env = { GATEWAY_STORE: STORE, GATEWAY_SECRET_ROTATION_GRACE: String(GRACE_SECONDS) };
    gw1 = await startGateway({ env });
    gw2 = await startGateway({ env });
    dir = mkdtempSync(join(tmpdir(), 'gateway-cli-'));
  });
  after(async () => {
    await gw1?.close();
    await gw2?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
    await removeTestKeys(true);
  });

  let shop: { client_id: string; client_secret: string; redirect_uris: string[] };
  let shopRefreshToken = '';

  it('adds a third-party client that signs in through either gateway at once, with consent', async () => {
    const result = await cli([
      'clients',
      'add',
      '--name',
      'Shop',
      '--id',
      'shop',
      '--redirect-uri',
      'http://127.0.0.1:9/shop/callback',
      '--json',
    ]);
    assert.equal(result.code, 0, result.stderr);
    shop = JSON.parse(result.stdout) as typeof shop;
    assert.equal(shop.client_id, 'shop');
    assert.ok(shop.client_secret.length >= 43, 'a generated secret, printed once');
    assert.ok(await redisKeyExists('gateway:oidc:Client:shop'), "written to the gateways' Redis store");
    const [event] = auditLines(result);
    assert.equal(event?.['audit'], 'client.registered');
    assert.equal(event?.['client_id'], 'shop');
    assert.equal((event?.['actor'] as { via: string } | undefined)?.via, 'cli');
    assert.ok(!result.stderr.includes(shop.client_secret), 'no secret in the audit');

    for (const gw of [gw1, gw2]) {
      const app = await discoverApp(gw.issuer, shop);
      const browser = createBrowser();
      const tokens = await signInWithConsent(browser, gw, app, 'ada@example.com', 'Shop');
      assert.ok(tokens.access_token && tokens.refresh_token);
      shopRefreshToken = tokens.refresh_token ?? '';
      await signInWithoutConsent(browser, gw, app, 'ada@example.com');
    }
  });

  it('adds a first-party client (consent skipped) and a public one (no secret), in plain text', async () => {
    const tool = await cli([
      'clients',
      'add',
      '--name',
      'Flower',
      '--id',
      'flower',
      '--first-party',
      '--redirect-uri',
      'http://127.0.0.1:9/flower/callback',
    ]);
    assert.equal(tool.code, 0, tool.stderr);
    assert.match(tool.stdout, /^client_id: +flower$/m);
    const secret = /^client_secret: +(\S+)$/m.exec(tool.stdout)?.[1] ?? '';
    assert.ok(secret.length >= 43);
    assert.match(tool.stdout, /shown only this once/);
    const app = await discoverApp(gw2.issuer, {
      client_id: 'flower',
      client_secret: secret,
      redirect_uris: ['http://127.0.0.1:9/flower/callback'],
    });
    await signInWithoutConsent(createBrowser(), gw2, app, 'ops@example.com');

    const spa = await cli([
      'clients',
      'add',
      '--id',
      'spa',
      '--public',
      '--redirect-uri',
      'http://localhost:5173/callback',
      '--post-logout-redirect-uri',
      'http://localhost:5173/',
    ]);
    assert.equal(spa.code, 0, spa.stderr);
    assert.doesNotMatch(spa.stdout, /client_secret:/);
    const spaApp = await discoverApp(gw1.issuer, {
      client_id: 'spa',
      redirect_uris: ['http://localhost:5173/callback'],
      token_endpoint_auth_method: 'none',
    });
    await signInWithConsent(createBrowser(), gw1, spaApp, 'spa@example.com', 'spa');
  });

  it('adds a machine client (client credentials) that gets its own token from either gateway', async () => {
    const added = await cli([
      'clients',
      'add',
      '--id',
      'nightly-export',
      '--grant',
      'client_credentials',
      '--resource',
      'https://api.example.test',
      '--json',
    ]);
    assert.equal(added.code, 0, added.stderr);
    const worker = JSON.parse(added.stdout) as { client_id: string; client_secret: string; grant_types: string[] };
    assert.deepEqual(worker.grant_types, ['client_credentials']);
    for (const gw of [gw1, gw2]) {
      const config = await client.discovery(
        new URL(gw.issuer),
        worker.client_id,
        { client_secret: worker.client_secret },
        client.ClientSecretBasic(worker.client_secret),
        { execute: [client.allowInsecureRequests] },
      );
      const tokens = await client.clientCredentialsGrant(config, {});
      const claims = JSON.parse(Buffer.from(tokens.access_token.split('.')[1] ?? '', 'base64url').toString()) as {
        sub: string;
        aud: string;
        gty: string;
      };
      assert.deepEqual(
        [claims.sub, claims.aud, claims.gty],
        ['nightly-export', 'https://api.example.test', 'client_credentials'],
      );
    }
    assertOneLineError(
      await cli(['clients', 'add', '--grant', 'password']),
      2,
      /--grant takes client_credentials or device_code/,
    );
    const device = await cli(['clients', 'add', '--id', 'acme-cli', '--public', '--grant', 'device_code', '--json']);
    assert.equal(device.code, 0, device.stderr);
    const cliClient = JSON.parse(device.stdout) as { grant_types: string[]; token_endpoint_auth_method: string };
    assert.deepEqual(cliClient.grant_types, ['refresh_token', 'urn:ietf:params:oauth:grant-type:device_code']);
    assert.equal(cliClient.token_endpoint_auth_method, 'none');
  });

  it('lists and shows clients, never with a secret', async () => {
    const list = await cli(['clients', 'list']);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^CLIENT_ID +TYPE +FIRST_PARTY +SOURCE +NAME +REDIRECT_URIS$/m);
    assert.match(list.stdout, /^flower +confidential +yes +store +Flower +http:\/\/127\.0\.0\.1:9\/flower\/callback$/m);
    assert.match(list.stdout, /^shop +confidential +no +store +Shop /m);
    assert.match(list.stdout, /^spa +public +no /m);
    assert.match(list.stdout, /^nightly-export +confidential +no +store$/m);
    const json = await cli(['clients', 'list', '--json']);
    const listed = JSON.parse(json.stdout) as Array<Record<string, unknown>>;
    assert.deepEqual(
      listed.map((c) => c['client_id']),
      ['acme-cli', 'flower', 'nightly-export', 'shop', 'spa'],
    );
    const show = await cli(['clients', 'show', 'shop']);
    assert.equal(show.code, 0, show.stderr);
    assert.match(show.stdout, /^client_secret: +\(set; shown only when created or rotated\)$/m);
    const shown = JSON.parse((await cli(['clients', 'show', 'shop', '--json'])).stdout) as Record<string, unknown>;
    assert.equal(shown['client_id'], 'shop');
    assert.equal(shown['has_secret'], true);
    assert.equal(shown['client_secret'], undefined);
    for (const output of [list.stdout, json.stdout, show.stdout, JSON.stringify(shown)]) {
      assert.ok(!output.includes(shop.client_secret), 'no secret printed');
    }
  });

  it('rotates a secret: both secrets work during the grace period, then only the new one', async () => {
    const result = await cli(['clients', 'rotate-secret', 'shop', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const rotated = JSON.parse(result.stdout) as {
      client_id: string;
      client_secret: string;
      previous_secret_valid_until: string;
    };
    assert.notEqual(rotated.client_secret, shop.client_secret);
    const until = Date.parse(rotated.previous_secret_valid_until);
    assert.ok(until > Date.now() && until <= Date.now() + GRACE_SECONDS * 1000);
    const [event] = auditLines(result);
    assert.equal(event?.['audit'], 'client.secret_rotated');
    assert.ok(!result.stderr.includes(rotated.client_secret) && !result.stderr.includes(shop.client_secret));

    for (const gw of [gw1, gw2]) {
      assert.equal((await introspectAs(gw.issuer, 'shop', rotated.client_secret)).status, 200, 'the new secret works');
      assert.equal(
        (await introspectAs(gw.issuer, 'shop', shop.client_secret)).status,
        200,
        'the old secret works during the grace',
      );
    }
    // An app still on the old secret keeps refreshing during the grace.
    const oldApp = await discoverApp(gw1.issuer, shop);
    const refreshed = await client.refreshTokenGrant(oldApp.config, shopRefreshToken);
    shopRefreshToken = refreshed.refresh_token ?? '';
    const shown = JSON.parse((await cli(['clients', 'show', 'shop', '--json'])).stdout) as {
      previous_secrets_valid_until: string[];
    };
    assert.equal(shown.previous_secrets_valid_until.length, 1);

    await new Promise((resolve) => setTimeout(resolve, Math.max(0, until - Date.now()) + 300));
    for (const gw of [gw1, gw2]) {
      const refused = await introspectAs(gw.issuer, 'shop', shop.client_secret);
      assert.equal(refused.status, 401, 'the old secret stops after the grace');
      assert.equal(((await refused.json()) as { error: string }).error, 'invalid_client');
      assert.equal((await introspectAs(gw.issuer, 'shop', rotated.client_secret)).status, 200);
    }
    await assert.rejects(client.refreshTokenGrant(oldApp.config, shopRefreshToken), isInvalidClient);
    shop = { ...shop, client_secret: rotated.client_secret };
  });

  it('removes a client: both gateways refuse it on the very next request', async () => {
    const app = await discoverApp(gw1.issuer, shop);
    // A new browser is a new SSO session, whose grants start empty: consent again.
    const tokens = await signInWithConsent(createBrowser(), gw1, app, 'ada@example.com', 'Shop');
    const result = await cli(['clients', 'remove', 'shop']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, 'removed client shop\n');
    assert.equal(auditLines(result)[0]?.['audit'], 'client.removed');
    for (const gw of [gw1, gw2]) {
      assert.equal((await introspectAs(gw.issuer, 'shop', shop.client_secret)).status, 401);
      const gone = await discoverApp(gw.issuer, shop);
      assert.equal((await authorizationRefused(createBrowser(), gw, gone, 'ada@example.com')).status, 400);
    }
    await assert.rejects(client.refreshTokenGrant(app.config, tokens.refresh_token ?? ''), isInvalidClient);
    assertOneLineError(await cli(['clients', 'show', 'shop']), 1, /no client with id shop/);
    assert.ok(
      !(JSON.parse((await cli(['clients', 'list', '--json'])).stdout) as Array<{ client_id: string }>).some(
        (c) => c.client_id === 'shop',
      ),
    );
  });

  it('refuses bad input with one line and a non-zero exit, writing nothing', async () => {
    const before = (await cli(['clients', 'list', '--json'])).stdout;
    assertOneLineError(
      await cli(['clients', 'add', '--name', 'x']),
      2,
      /clients add needs at least one --redirect-uri/,
    );
    assertOneLineError(
      await cli(['clients', 'add', '--redirect-uri', 'http://app.example.com/cb']),
      2,
      /^gateway: invalid_redirect_uri: redirect_uris: "http:\/\/app\.example\.com\/cb" must use https/,
    );
    assertOneLineError(await cli(['clients', 'add', '--redirect-uri', 'https://*.example.com/cb']), 2, /wildcard/);
    assertOneLineError(await cli(['clients', 'add', '--redirect-uri', 'https://app.example.com/cb#x']), 2, /fragment/);
    assertOneLineError(
      await cli([
        'clients',
        'add',
        '--redirect-uri',
        'https://app.example.com/cb',
        '--auth-method',
        'client_secret_jwt',
      ]),
      2,
      /invalid_client_metadata: token_endpoint_auth_method must be/,
    );
    assertOneLineError(
      await cli([
        'clients',
        'add',
        '--redirect-uri',
        'https://app.example.com/cb',
        '--backchannel-logout-uri',
        'http://app.example.com/logout',
      ]),
      2,
      /backchannel_logout_uri: .*must use https/,
    );
    assertOneLineError(
      await cli(['clients', 'add', '--redirect-uri', 'https://app.example.com/cb', '--metadata', '{not json']),
      2,
      /--metadata must be a JSON object/,
    );
    assertOneLineError(
      await cli([
        'clients',
        'add',
        '--redirect-uri',
        'https://app.example.com/cb',
        '--metadata',
        '{"client_secret":"mine"}',
      ]),
      2,
      /must not carry client_secret/,
    );
    assertOneLineError(
      await cli(['clients', 'add', '--redirect-uri', 'https://app.example.com/cb', '--id', 'flower']),
      1,
      /a client with id flower already exists/,
    );
    assertOneLineError(
      await cli(['clients', 'add', '--redirect-uri', 'https://app.example.com/cb', '--id', 'bad id']),
      2,
      /may hold only letters/,
    );
    assertOneLineError(
      await cli(['clients', 'add', '--redirect-uri', 'https://app.example.com/cb', '--bogus']),
      2,
      /Unknown option '--bogus'/,
    );
    assertOneLineError(await cli(['clients', 'show']), 2, /expected one CLIENT_ID/);
    assertOneLineError(await cli(['clients', 'remove', 'nobody']), 1, /no client with id nobody/);
    assertOneLineError(
      await cli(['clients', 'rotate-secret', 'spa']),
      1,
      /authenticates with none: it has no secret to rotate/,
    );
    assertOneLineError(await cli(['clients', 'frobnicate']), 2, /unknown command "clients frobnicate"/);
    assertOneLineError(await cli(['clients']), 2, /clients needs a command/);
    assertOneLineError(
      await cli(['clients', 'list'], { GATEWAY_STORE: 'bogus://x' }),
      1,
      /invalid settings .*GATEWAY_STORE/,
    );
    assertOneLineError(
      await cli(['clients', 'list'], { GATEWAY_STORE: 'memory://' }),
      2,
      /memory:\/\/ lives inside one process/,
    );
    assertOneLineError(
      await cli(['clients', 'list'], { GATEWAY_STORE: 'redis://127.0.0.1:1/0' }),
      1,
      /cannot open the store: .*127\.0\.0\.1:1/,
    );
    assert.equal((await cli(['clients', 'list', '--json'])).stdout, before, 'nothing was written');
  });

  it('keeps `config check` and `config docs` working, and checks the clients file', async () => {
    const docs = await cli(['config', 'docs']);
    assert.equal(docs.code, 0);
    assert.match(docs.stdout, /\| `GATEWAY_SECRET_ROTATION_GRACE` \|/);
    const good = join(dir, 'clients.yaml');
    writeFileSync(
      good,
      '- client_id: tool\n  client_secret: tool-secret-0123456789abcdef0123456789\n  redirect_uris: ["https://tool.example.com/cb"]\n',
    );
    const checked = await cli(['config', 'check'], { GATEWAY_CLIENTS_FILE: good });
    assert.equal(checked.code, 0, checked.stderr);
    assert.match(checked.stdout, /^configuration OK$/m);
    assert.match(checked.stdout, /^clients: +1 in .*clients\.yaml$/m);
    const bad = join(dir, 'bad.yaml');
    writeFileSync(
      bad,
      '- client_id: tool\n  token_endpoint_auth_method: none\n  redirect_uris: ["http://tool.example.com/cb"]\n',
    );
    const refused = await cli(['config', 'check'], { GATEWAY_CLIENTS_FILE: bad });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^gateway: .*bad\.yaml: clients\[0\] \(tool\): redirect_uris: .*must use https/m);
  });
});
