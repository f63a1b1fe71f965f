/**
 * Google Workspace groups (a google upstream with `groups: true`): read from the Directory API by
 * a service account with domain-wide delegation acting as an admin (the fake answers as Google's
 * token endpoint and Directory do), page by page, released as `staff:<group e-mail>`. A failing
 * Directory does not stop a sign-in or a refresh: the last known groups stand for a while.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as client from 'openid-client';
import type { Account } from '../gateway/accounts/account.ts';
import { afterGroupSourceFailed, STALE_GROUPS_MS } from '../gateway/accounts/account-groups.ts';
import { createGoogleDirectory, parseServiceAccountKey } from '../gateway/upstream/google-directory.ts';
import { createBrowser } from './helpers/browser.ts';
import { type FakeGoogle, startFakeGoogle } from './helpers/fake-google.ts';
import { type FakeGoogleDirectory, startFakeGoogleDirectory } from './helpers/fake-google-directory.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  redeem,
  startAuthorization,
} from './helpers/relying-party.ts';
import { freePort, startGateway, type StartedGateway } from './helpers/start-gateway.ts';

const ADMIN = 'admin@example.com';

describe('Google Workspace groups from the Directory API', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-workspace-groups-'));
  let google: FakeGoogle;
  let directory: FakeGoogleDirectory;
  let gw: StartedGateway;
  const meta = confidentialClient('groups-app');

  before(async () => {
    const port = await freePort();
    const issuer = `http://127.0.0.1:${port}`;
    google = await startFakeGoogle({
      clients: [
        { client_id: 'staff', client_secret: 'staff-secret', redirect_uris: [`${issuer}/upstream/staff/callback`] },
      ],
    });
    directory = await startFakeGoogleDirectory({ adminEmail: ADMIN, pageSize: 2 });
    const keyFile = join(dir, 'service-account.json');
    writeFileSync(keyFile, directory.keyFile, { mode: 0o600 });
    gw = await startGateway({
      port,
      clients: [meta],
      env: {
        UPSTREAM_CLIENT_ID: '',
        UPSTREAM_CLIENT_SECRET: '',
        GATEWAY_UPSTREAM_RECHECK_INTERVAL: '0',
        GATEWAY_UPSTREAMS: JSON.stringify([
          {
            id: 'staff',
            type: 'google',
            issuer: google.issuer,
            client_id: 'staff',
            client_secret: 'staff-secret',
            groups: true,
            service_account_file: keyFile,
            admin_email: ADMIN,
            directory_url: directory.url,
          },
        ]),
      },
    });
  });
  after(async () => {
    await gw?.close();
    await google?.close();
    await directory?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('releases every page of the groups, and keeps the last known ones through a Directory outage', async () => {
    directory.memberships.set('ada@example.com', ['Eng@example.com', 'ops@example.com', 'all@example.com']);
    const app = await discoverApp(gw.issuer, meta);
    const start = await startAuthorization(app, { scope: 'openid email groups' });
    const { callback } = await authorizeInBrowser(createBrowser(), app, start, google.issuer, {
      email: 'ada@example.com',
    });
    assert.ok(callback);
    const tokens = await redeem(app, start, callback);
    assert.deepEqual(tokens.claims()?.['groups'], [
      'staff:eng@example.com',
      'staff:ops@example.com',
      'staff:all@example.com',
    ]);
    assert.equal(directory.counters.token, 1, 'one token for the service account');
    assert.ok(directory.counters.list >= 2, 'two pages');

    // Removed from a group: the next refresh (a re-check) says so.
    directory.memberships.set('ada@example.com', ['ops@example.com']);
    const next = await client.refreshTokenGrant(app.config, tokens.refresh_token ?? '');
    assert.deepEqual(next.claims()?.['groups'], ['staff:ops@example.com']);
    assert.equal(directory.counters.token, 1, 'the token is kept until it expires');

    // The Directory down: the refresh goes on, with the last known groups.
    directory.failing = true;
    const during = await client.refreshTokenGrant(app.config, next.refresh_token ?? '');
    assert.deepEqual(during.claims()?.['groups'], ['staff:ops@example.com']);
    directory.failing = false;
  });

  it('drops groups a failing source gave too long ago (rules that need groups then refuse)', () => {
    const now = Date.now();
    const account = {
      sub: 'u',
      upstream: { iss: 'https://accounts.google.com', sub: '1', id: 'staff' },
      preferred_username: 'u',
      createdAt: now,
      updatedAt: now,
      upstreamCheckedAt: now,
      groupsAt: { staff: ['ops@example.com'] },
      groupsReadAt: { staff: now - STALE_GROUPS_MS - 1 },
    } satisfies Account;
    assert.deepEqual(afterGroupSourceFailed(account, 'staff', now).groupsAt?.['staff'], []);
    const recent = { ...account, groupsReadAt: { staff: now - 60_000 } };
    assert.equal(afterGroupSourceFailed(recent, 'staff', now), recent, 'recent enough: kept');
  });

  it('will not start with a key file that is no service-account key', async () => {
    const bad = join(dir, 'not-a-key.json');
    writeFileSync(bad, '{"type":"authorized_user"}');
    await assert.rejects(
      startGateway({
        env: {
          UPSTREAM_CLIENT_ID: '',
          UPSTREAM_CLIENT_SECRET: '',
          GATEWAY_UPSTREAMS: JSON.stringify([
            {
              id: 'staff',
              type: 'google',
              client_id: 'c',
              client_secret: 's',
              groups: true,
              service_account_file: bad,
              admin_email: ADMIN,
            },
          ]),
        },
      }),
      /upstream staff: service_account_file is not a service-account key/,
    );
  });
});

describe('nested Workspace groups (nested_groups: true)', () => {
  let directory: FakeGoogleDirectory;
  before(async () => {
    directory = await startFakeGoogleDirectory({ adminEmail: ADMIN, pageSize: 2 });
  });
  after(() => directory?.close());

  const open = (nested: boolean) => {
    const key = parseServiceAccountKey(directory.keyFile);
    assert.ok(typeof key !== 'string', key as string);
    return createGoogleDirectory({ key, adminEmail: ADMIN, directoryUrl: directory.url, nested });
  };

  it('reads the groups of the groups, level by level, and a cycle ends', async () => {
    directory.memberships.set('ada@example.com', ['eng@example.com', 'oncall@example.com']);
    directory.memberships.set('eng@example.com', ['all-eng@example.com']);
    directory.memberships.set('all-eng@example.com', ['everyone@example.com', 'eng@example.com']);
    directory.memberships.set('everyone@example.com', ['all-eng@example.com']);
    assert.deepEqual(await open(false).groupsOf('ada@example.com'), ['eng@example.com', 'oncall@example.com']);
    const before = directory.counters.list;
    assert.deepEqual((await open(true).groupsOf('ADA@example.com')).sort(), [
      'all-eng@example.com',
      'eng@example.com',
      'everyone@example.com',
      'oncall@example.com',
    ]);
    // One list each for ada, eng, oncall, all-eng and everyone: the cycle is not read twice.
    assert.equal(directory.counters.list - before, 5);
  });

  it('a failing lookup deeper down fails the whole read (the last known groups then stand)', async () => {
    directory.memberships.set('bob@example.com', ['eng@example.com']);
    directory.failingKeys.add('all-eng@example.com');
    try {
      assert.deepEqual(await open(false).groupsOf('bob@example.com'), ['eng@example.com']);
      await assert.rejects(open(true).groupsOf('bob@example.com'), /Google Directory/);
    } finally {
      directory.failingKeys.clear();
    }
  });
});
