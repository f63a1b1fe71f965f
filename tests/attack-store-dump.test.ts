/**
 * Attack: someone obtains a dump of the store (a Redis RDB file or replica, a copy of the SQLite
 * file, a backup) and uses what is in it: private signing keys to forge the tokens that
 * `/oauth2/auth` and every app accept, refresh tokens, registration access tokens and
 * forward-auth session ids taken from key names, client secrets from client records.
 *
 * On each backend (memory, a SQLite file, a REAL Redis under a prefix of its own), with
 * GATEWAY_SECRETS set as production has it, a full journey runs: an app signs a user in through
 * the fake Google, refreshes and calls userinfo; forward auth signs in and gets its cookie; a
 * client registers dynamically; a client from GATEWAY_CLIENTS_FILE gets a new secret across a
 * restart (the old one kept for its grace). Then every key and value of the backend is read, and
 * none of the credentials seen on the way may appear in any of them, nor any GATEWAY_SECRETS
 * entry, nor any private part of a signing key. For SQLite the file's raw bytes (and its WAL) are
 * searched too, since deleted rows can linger in free pages.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { createClient } from '@keyv/redis';
import * as client from 'openid-client';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { createRedisStore } from '../adapters/redis-store.ts';
import { createSqliteStore } from '../adapters/sqlite-store.ts';
import type { Store } from '../adapters/store.ts';
import { createBrowser, type Browser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  redeem,
  startAuthorization,
} from './helpers/relying-party.ts';
import { startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const SECRETS = ['dump-test-secret-new-0123456789abcdef0123', 'dump-test-secret-old-0123456789abcdef0123'];
const REGISTRATION_TOKEN = 'dump-test-initial-access-token-0123456789';

/** One thing a dump holds: where it was found, and its text. */
interface DumpEntry {
  where: string;
  text: string;
}

interface Backend {
  name: string;
  open(): Promise<Store>;
  dump(): Promise<DumpEntry[]>;
  cleanup(): Promise<void>;
}

/** The credentials seen during the journey, by what they are (the label names it in a failure). */
class Seen {
  readonly values = new Map<string, string>();
  add(label: string, value: unknown): void {
    // Shorter strings could match by chance; every credential here is far longer.
    if (typeof value === 'string' && value.length >= 16) this.values.set(value, label);
  }
}

/**
 * Wraps the browser's fetch so that every cookie the gateway sets and every `code` on a redirect
 * is recorded (interaction and resume cookies live only for a moment; codes are redeemed at once).
 */
function recordingBrowser(seen: Seen, gatewayOrigin: string): Browser {
  const browser = createBrowser();
  const plain = browser.fetch.bind(browser);
  browser.fetch = async (target, init) => {
    const response = await plain(target, init);
    if (new URL(target).origin === gatewayOrigin) {
      for (const header of response.headers.getSetCookie()) {
        const [pair = ''] = header.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq);
        const value = decodeURIComponent(pair.slice(eq + 1));
        seen.add(`cookie ${name}`, value);
        // The forward-auth cookie: `<JWT>~<server-side session id>`, each part a credential.
        const tilde = value.lastIndexOf('~');
        if (tilde > 0) {
          seen.add(`cookie ${name} (JWT part)`, value.slice(0, tilde));
          seen.add(`cookie ${name} (session id part)`, value.slice(tilde + 1));
        }
      }
    }
    const location = response.headers.get('location');
    if (location) seen.add('authorization code', new URL(location, target).searchParams.get('code'));
    return response;
  };
  return browser;
}

function collectTokens(
  seen: Seen,
  who: string,
  tokens: { access_token?: unknown; refresh_token?: unknown; id_token?: unknown },
): void {
  seen.add(`${who} access token`, tokens.access_token);
  seen.add(`${who} refresh token`, tokens.refresh_token);
  seen.add(`${who} ID token`, tokens.id_token);
}

async function collectUpstreamTokens(seen: Seen, gw: StartedGateway, sub: string): Promise<void> {
  const upstream = await gw.app.gateway.vault.load(sub);
  assert.ok(upstream, "the gateway keeps the user's upstream tokens");
  seen.add('upstream access token', upstream.access_token);
  seen.add('upstream refresh token', upstream.refresh_token);
}

function collectPrivateKeys(seen: Seen, gw: StartedGateway): void {
  for (const key of gw.app.gateway.keys.view().published) {
    for (const part of ['d', 'p', 'q', 'dp', 'dq', 'qi'] as const)
      seen.add(`private signing key ${key.kid} "${part}"`, key[part]);
  }
}

/** The journey; returns every credential it saw. */
async function journey(store: Store, dir: string): Promise<Seen> {
  const seen = new Seen();
  for (const secret of SECRETS) seen.add('a GATEWAY_SECRETS entry', secret);
  seen.add('GATEWAY_REGISTRATION_TOKEN', REGISTRATION_TOKEN);
  const clientsFile = join(dir, 'clients.json');
  const meta = confidentialClient('dump-app');
  writeFileSync(clientsFile, JSON.stringify([meta]));
  seen.add('client secret (from the clients file)', meta.client_secret);
  const env = {
    GATEWAY_SECRETS: SECRETS.join(','),
    GATEWAY_REGISTRATION_TOKEN: REGISTRATION_TOKEN,
    GATEWAY_CLIENTS_FILE: clientsFile,
    NODE_ENV: 'production',
  };

  let gw = await startGateway({ store, env });
  let sub: string;
  try {
    // An app signs a user in through the fake Google, refreshes, and calls userinfo.
    const browser = recordingBrowser(seen, gw.issuer);
    const app = await discoverApp(gw.issuer, meta);
    const start = await startAuthorization(app);
    const { callback, page } = await authorizeInBrowser(browser, app, start, gw.google.issuer, {
      email: 'dumped@example.com',
      name: 'Dee Dump',
    });
    assert.ok(callback, `sign-in stopped at HTTP ${page?.status}`);
    const tokens = await redeem(app, start, callback);
    collectTokens(seen, 'app', tokens);
    sub = String(tokens.claims()?.sub);
    const refreshed = await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '');
    collectTokens(seen, 'app (refreshed)', refreshed);
    const info = await client.fetchUserInfo(app.config, refreshed.access_token, sub);
    assert.equal(info.email, 'dumped@example.com');
    await collectUpstreamTokens(seen, gw, sub);

    // Forward auth signs in (a browser of its own: a sign-in at the upstream again) and gets its cookie.
    const faBrowser = recordingBrowser(seen, gw.issuer);
    const toGoogle = await faBrowser.follow(`${gw.issuer}/oauth2/start?rd=/`, (url) =>
      url.href.startsWith(gw.google.issuer),
    );
    const back = await signInAtFakeGoogle(toGoogle.location?.href ?? '', (url, init) => faBrowser.fetch(url, init), {
      email: 'dumped@example.com',
    });
    await faBrowser.follow(back);
    assert.equal((await faBrowser.fetch(`${gw.issuer}/oauth2/auth`)).status, 202, 'the forward-auth cookie works');
    assert.ok(faBrowser.cookies(`${gw.issuer}/`).some((c) => c.name === '_gateway_auth'));
    await collectUpstreamTokens(seen, gw, sub);

    // A client registers dynamically (RFC 7591) and reads itself back (RFC 7592).
    const registered = await fetch(`${gw.issuer}/reg`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${REGISTRATION_TOKEN}` },
      body: JSON.stringify({ redirect_uris: ['http://127.0.0.1:9/registered/callback'] }),
    });
    assert.equal(registered.status, 201);
    const registration = (await registered.json()) as {
      client_id: string;
      client_secret: string;
      registration_access_token: string;
    };
    seen.add('client secret (registered)', registration.client_secret);
    seen.add('registration access token', registration.registration_access_token);
    const read = await fetch(`${gw.issuer}/reg/${registration.client_id}`, {
      headers: { authorization: `Bearer ${registration.registration_access_token}` },
    });
    assert.equal(read.status, 200);
    collectPrivateKeys(seen, gw);

    // A restart with a new secret in the clients file: the old one is kept for its grace period.
    await gw.close();
    const rotated = { ...meta, client_secret: `${meta.client_secret}-rotated` };
    writeFileSync(clientsFile, JSON.stringify([rotated]));
    seen.add('client secret (rotated in the clients file)', rotated.client_secret);
    gw = await startGateway({ store, env });
    const withOldSecret = await client.refreshTokenGrant(
      (await discoverApp(gw.issuer, meta)).config,
      refreshed.refresh_token ?? '',
    );
    collectTokens(seen, 'app (refreshed after the restart, old secret)', withOldSecret);
    const withNewSecret = await client.refreshTokenGrant(
      (await discoverApp(gw.issuer, rotated)).config,
      withOldSecret.refresh_token ?? '',
    );
    collectTokens(seen, 'app (refreshed after the restart, new secret)', withNewSecret);
    collectPrivateKeys(seen, gw);
  } finally {
    await gw.close();
  }
  return seen;
}

function redisBackend(): Backend {
  const prefix = `test:dump:${randomUUID()}:`;
  const connect = async () => {
    const redis = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
    redis.on('error', () => {});
    try {
      await redis.connect();
    } catch (error) {
      throw new Error(`this test needs a real Redis at ${REDIS_URL} (set REDIS_URL): ${(error as Error).message}`, {
        cause: error,
      });
    }
    return redis;
  };
  return {
    name: 'redis',
    open: () => createRedisStore(REDIS_URL, { prefix }),
    async dump() {
      const redis = await connect();
      const entries: DumpEntry[] = [];
      try {
        for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 })) {
          for (const key of keys) {
            entries.push({ where: 'a key name', text: key });
            const type = await redis.type(key);
            const values =
              type === 'string'
                ? [(await redis.get(key)) ?? '']
                : type === 'set'
                  ? await redis.sMembers(key)
                  : type === 'hash'
                    ? Object.entries(await redis.hGetAll(key)).flat()
                    : type === 'list'
                      ? await redis.lRange(key, 0, -1)
                      : type === 'zset'
                        ? await redis.zRange(key, 0, -1)
                        : assert.fail(`unexpected Redis type ${type} at ${key}`);
            for (const value of values) entries.push({ where: `the value of ${key}`, text: value });
          }
        }
      } finally {
        await redis.close();
      }
      return entries;
    },
    async cleanup() {
      const redis = await connect();
      try {
        for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 500 }))
          if (keys.length > 0) await redis.del(keys);
      } finally {
        await redis.close();
      }
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'attack-store-dump-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function memoryBackend(): Backend {
  const map = new Map<string, string>();
  return {
    name: 'memory',
    open: async () => createMemoryStore({ map }),
    async dump() {
      return [...map].flatMap(([key, value]) => [
        { where: 'a key name', text: key },
        { where: `the value of ${key}`, text: value },
      ]);
    },
    async cleanup() {},
  };
}

function sqliteBackend(): Backend {
  const path = join(dir, 'gateway.sqlite');
  return {
    name: 'sqlite',
    open: async () => createSqliteStore(path),
    async dump() {
      const db = new DatabaseSync(path, { readOnly: true });
      const rows = db.prepare('SELECT key, value FROM entries').all() as Array<{ key: string; value: string }>;
      db.close();
      const entries = rows.flatMap(({ key, value }) => [
        { where: 'a key name', text: key },
        { where: `the value of ${key}`, text: value },
      ]);
      for (const file of [path, `${path}-wal`]) {
        if (existsSync(file))
          entries.push({ where: `the raw bytes of ${file}`, text: readFileSync(file).toString('latin1') });
      }
      return entries;
    },
    async cleanup() {},
  };
}

for (const backend of [memoryBackend(), sqliteBackend(), redisBackend()]) {
  describe(`a dump of the ${backend.name} store after a full journey`, () => {
    let store: Store;
    let seen: Seen;
    let entries: DumpEntry[];

    before(async () => {
      store = await backend.open();
      const journeyDir = mkdtempSync(join(dir, `${backend.name}-`));
      seen = await journey(store, journeyDir);
      entries = await backend.dump();
    });
    after(async () => {
      await store?.close();
      await backend.cleanup();
    });

    it('holds no token, code, cookie, client secret, registration token, GATEWAY_SECRETS entry or private key', () => {
      assert.ok(seen.values.size > 25, `the journey saw its credentials (${seen.values.size})`);
      assert.ok(entries.length > 40, `the dump holds the journey (${entries.length} entries)`);
      const found: string[] = [];
      for (const [value, label] of seen.values) {
        const entry = entries.find((e) => e.text.includes(value));
        if (entry) found.push(`${label}, in ${entry.where}`);
      }
      assert.deepEqual(found, [], 'what the dump gives away');
    });
  });
}
