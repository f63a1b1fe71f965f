/**
 * The operator on call, with the CLI against a running gateway on the store they share (SQLite):
 * find a user by e-mail, user name, sub or upstream identity; see their sessions and apps; end
 * one session (its app's refresh fails, the other session's goes on); disable the account (every
 * session and grant ends, a new sign-in is refused with a page that says so) and enable it again.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import * as client from 'openid-client';
import { createBrowser } from './helpers/browser.ts';
import { signInAtFakeGoogle } from './helpers/fake-google.ts';
import {
  authorizeInBrowser,
  confidentialClient,
  discoverApp,
  signIn,
  startAuthorization,
  type TestApp,
} from './helpers/relying-party.ts';
import { startGateway, TEST_SECRET, type StartedGateway, UPSTREAM_CLIENT } from './helpers/start-gateway.ts';

interface AccountView {
  sub: string;
  preferred_username: string;
  email: string;
  upstream: string;
  upstream_sub: string;
  disabled_at?: string;
  sessions?: { uid: string; apps: string[] }[];
}

describe('npx gateway users and sessions, for the operator on call', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-users-admin-'));
  const store = `sqlite://${join(dir, 'gateway.sqlite')}`;
  let gw: StartedGateway;
  let app: TestApp;
  const meta = confidentialClient('notes-app');

  before(async () => {
    gw = await startGateway({ clients: [meta], env: { GATEWAY_STORE: store } });
    app = await discoverApp(gw.issuer, meta);
  });
  after(async () => {
    await gw?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The CLI with the gateway's settings (its store, secrets, issuer and upstream). */
  function cli(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      const env = {
        PATH: process.env['PATH'] ?? '',
        GATEWAY_STORE: store,
        GATEWAY_SECRETS: TEST_SECRET,
        GATEWAY_ISSUER: gw.issuer,
        UPSTREAM_ISSUER: gw.google.issuer,
        UPSTREAM_CLIENT_ID: UPSTREAM_CLIENT.id,
        UPSTREAM_CLIENT_SECRET: UPSTREAM_CLIENT.secret,
      };
      const child = spawn(process.execPath, ['bin/gateway.ts', ...args], { env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }
  const json = async <T>(...args: string[]): Promise<T> => {
    const run = await cli(...args, '--json');
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout) as T;
  };
  const refreshes = (token: string) =>
    client.refreshTokenGrant(app.config, token).then(
      () => 'ok',
      (error: unknown) => (error as { error?: string }).error ?? String(error),
    );

  it('finds the user, shows their sessions, ends one, disables and enables the account', async () => {
    const identity = { email: 'Grace@Example.com', name: 'Grace Hopper' };
    // Two browsers: two sessions of one user.
    const laptop = await signIn(createBrowser(), app, gw.google.issuer, identity);
    const phone = await signIn(createBrowser(), app, gw.google.issuer, identity);
    const sub = String(decodeJwt(laptop.access_token).sub);

    const [byEmail] = await json<AccountView[]>('users', 'find', 'grace@example.com');
    assert.equal(byEmail?.sub, sub);
    assert.equal(byEmail?.email?.toLowerCase(), 'grace@example.com');
    const byName = await json<AccountView[]>('users', 'find', byEmail?.preferred_username ?? '');
    assert.deepEqual(
      byName.map((a) => a.sub),
      [sub],
    );
    const bySub = await json<AccountView[]>('users', 'find', sub);
    assert.equal(bySub[0]?.sub, sub);
    const byIdentity = await json<AccountView[]>('users', 'find', `${byEmail?.upstream}:${byEmail?.upstream_sub}`);
    assert.equal(byIdentity[0]?.sub, sub, 'by the upstream identity, UPSTREAM_ID:UPSTREAM_SUB');
    const none = await cli('users', 'find', 'nobody@example.com');
    assert.equal(none.code, 1);
    assert.match(none.stdout, /no account found/);
    // Every account, a page at a time, all pages together once each.
    const seen: string[] = [];
    let after: string | undefined;
    do {
      const page = await json<{ users: AccountView[]; next?: string }>(
        'users',
        'list',
        '--limit',
        '1',
        ...(after ? ['--after', after] : []),
      );
      seen.push(...page.users.map((u) => u.sub));
      after = page.next;
    } while (after);
    assert.ok(seen.includes(sub) && new Set(seen).size === seen.length, 'every account once');
    // Filtered pages stop after a few buckets (partial, with a cursor): follow them to the end.
    const ofUpstream: string[] = [];
    after = undefined;
    do {
      const page: { users: AccountView[]; next?: string } = await json<{ users: AccountView[]; next?: string }>(
        'users',
        'list',
        '--upstream',
        byEmail?.upstream ?? '',
        ...(after ? ['--after', after] : []),
      );
      ofUpstream.push(...page.users.map((u) => u.sub));
      after = page.next;
    } while (after);
    assert.ok(ofUpstream.includes(sub));
    assert.equal((await cli('users', 'list', '--upstream', 'nowhere')).code, 1);
    assert.equal((await cli('users', 'list', '--after', 'not-a-cursor')).code, 2);
    const table = await cli('users', 'find', 'grace@example.com');
    assert.match(table.stdout, /^SUB +USERNAME +EMAIL +UPSTREAM +LAST SEEN +DISABLED$/m);

    const shown = await json<AccountView>('users', 'show', sub);
    assert.equal(shown.sessions?.length, 2);
    assert.ok(
      shown.sessions?.every((s) => s.apps.includes('notes-app')),
      'each session names its app',
    );
    const listed = await json<{ uid: string }[]>('sessions', 'list', sub);
    const laptopSession = String(decodeJwt(laptop.access_token)['session_uid']);
    assert.ok(listed.some((s) => s.uid === laptopSession));

    // One session ends; the other goes on.
    const ended = await cli('sessions', 'end', laptopSession);
    assert.equal(ended.code, 0, ended.stderr);
    assert.match(ended.stderr, /"audit":"session\.ended"/);
    assert.equal(await refreshes(laptop.refresh_token ?? ''), 'invalid_grant');
    const phoneAgain = await client.refreshTokenGrant(app.config, phone.refresh_token ?? '');
    assert.ok(phoneAgain.access_token, "the phone's session goes on");

    // Disabled: everything ends, and signing in again is refused with a page that says so.
    const disabled = await json<{ disabled: boolean; sessions: number }>('users', 'disable', sub);
    assert.equal(disabled.disabled, true);
    assert.equal(disabled.sessions, 1);
    assert.equal(await refreshes(phoneAgain.refresh_token ?? ''), 'invalid_grant');
    const browser = createBrowser({ acceptLanguage: 'en' });
    const start = await startAuthorization(app);
    const refused = await authorizeInBrowser(browser, app, start, gw.google.issuer, identity);
    assert.equal(refused.callback, undefined);
    assert.equal(refused.page?.status, 403);
    assert.match((await refused.page?.text()) ?? '', /Your account has been disabled at this gateway/);
    assert.ok((await json<AccountView>('users', 'show', sub)).disabled_at, 'show says since when');

    // Enabled again: the user signs in as before, with the same sub.
    const enabled = await cli('users', 'enable', sub);
    assert.equal(enabled.code, 0, enabled.stderr);
    const back = await signIn(createBrowser(), app, gw.google.issuer, identity);
    assert.equal(decodeJwt(back.access_token).sub, sub);
  });

  it('a sign-in that races a disable gets no session, even after the account is enabled again', async () => {
    const identity = { email: 'racer@example.com', name: 'Racer' };
    const first = await signIn(createBrowser(), app, gw.google.issuer, identity);
    const sub = String(decodeJwt(first.access_token).sub);
    // A second browser gets through the upstream, and stops before resuming at the gateway.
    const browser = createBrowser();
    const start = await startAuthorization(app);
    const toGoogle = await browser.follow(start.url, (url) => url.href.startsWith(gw.google.issuer));
    assert.ok(toGoogle.location);
    const back = await signInAtFakeGoogle(toGoogle.location.href, (u, init) => browser.fetch(u, init), identity);
    const resume = await browser.follow(back, (url) => /\/auth\/[^/]+$/.test(url.pathname));
    assert.ok(resume.location, 'the interaction is finished, the resume not yet followed');
    assert.equal((await cli('users', 'disable', sub)).code, 0);
    assert.equal((await cli('users', 'enable', sub)).code, 0);
    // Resumed after both: sent to sign in again, never handed a code on the raced session.
    const after = await browser.follow(
      resume.location,
      (url) => url.href.startsWith(app.metadata.redirect_uris[0] ?? '') || url.href.startsWith(gw.google.issuer),
    );
    assert.ok(
      after.location?.href.startsWith(gw.google.issuer),
      `sent to sign in again, not to the app (${after.location?.href})`,
    );
    assert.equal((await json<{ uid: string }[]>('sessions', 'list', sub)).length, 0, 'no session lives on');
    const unknown = await cli('sessions', 'end', 'no-such-session');
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no live session with id/);
    assert.doesNotMatch(unknown.stderr, /"audit"/, 'nothing ended, nothing audited');
  });

  it('says what is wrong with a sub it does not know, on one line', async () => {
    for (const args of [
      ['users', 'show', 'no-such-sub'],
      ['users', 'disable', 'no-such-sub'],
      ['sessions', 'list', 'no-such-sub'],
    ]) {
      const run = await cli(...args);
      assert.equal(run.code, 1, args.join(' '));
      assert.match(run.stderr, /^gateway: no account with sub "no-such-sub"/);
    }
  });
});
