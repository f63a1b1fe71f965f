/**
 * `npx gateway rules explain`: the forward-auth decision for one request, with the rule that made
 * it, from the settings as the gateway reads them; exit 0 when it passes, 1 when not.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openStore } from '../adapters/open-store.ts';
import { resolveAccount } from '../gateway/accounts/account-store.ts';

const env = {
  PATH: process.env['PATH'] ?? '',
  GATEWAY_GROUPS: JSON.stringify({ ops: ['boss@example.com'] }),
  GATEWAY_HOST_RULES: JSON.stringify([
    { host: '.example.com', allowed_email_domains: ['example.com'] },
    { host: 'app.example.com', path: '/flower', allowed_groups: ['ops'] },
    { host: 'app.example.com', path: '/static', allow: 'public' },
    { host: 'app.example.com', path: '/hooks', trusted_networks: ['10.20.0.0/16'] },
  ]),
};

function explain(...args: string[]) {
  return explainWith(env, ...args);
}

function explainWith(settings: Record<string, string>, ...args: string[]) {
  const run = spawnSync(process.execPath, ['bin/gateway.ts', 'rules', 'explain', ...args], {
    env: settings,
    encoding: 'utf8',
  });
  return { code: run.status, out: run.stdout, err: run.stderr };
}

describe('npx gateway rules explain', () => {
  it('names the rule that decides, and the answer, as the check would give it', () => {
    const flower = explain('--host', 'app.example.com', '--path', '/%66lower/tasks', '--email', 'ada@example.com');
    assert.equal(flower.code, 1);
    assert.match(flower.out, /decided by: rule 2 of GATEWAY_HOST_RULES: .*"path":"\/flower"/);
    assert.match(flower.out, /signed in, but not allowed \(403\)/);
    const boss = explain('--host', 'app.example.com', '--path', '/flower', '--email', 'boss@example.com');
    assert.equal(boss.code, 0);
    assert.match(boss.out, /groups: ops/);
    assert.match(boss.out, /passes \(202\)/);
    const wiki = explain('--host', 'wiki.example.com', '--email', 'ada@example.com');
    assert.match(wiki.out, /rule 1 of GATEWAY_HOST_RULES/);
    assert.equal(wiki.code, 0);
  });

  it('says when no sign-in is needed, and when one is', () => {
    assert.match(explain('--host', 'app.example.com', '--path', '/static/app.css').out, /passes without signing in/);
    const hook = explain('--host', 'app.example.com', '--path', '/hooks/ci', '--method', 'POST', '--ip', '10.20.0.5');
    assert.equal(hook.code, 0);
    const outside = explain('--host', 'app.example.com', '--path', '/hooks/ci', '--ip', '192.0.2.1');
    assert.equal(outside.code, 1);
    assert.match(outside.out, /sign in first \(401\)/);
  });

  it('refuses bad arguments with a usage error', () => {
    const missing = explain('--path', '/x');
    assert.equal(missing.code, 2);
    assert.match(missing.err, /--host is required/);
    assert.match(explain('--host', 'x y').err, /--host must be a plain host name/);
    assert.match(explain('--host', 'app.example.com', '--ip', 'not-an-ip').err, /--ip must be an IP address/);
    assert.match(explain('--host', 'app.example.com', '--email', 'a@b.c', '--group', 'a,ops').err, /one group name/);
  });

  describe('--user: a stored account, with the groups its upstream last gave', () => {
    const dir = mkdtempSync(join(tmpdir(), 'rules-explain-'));
    const settings = {
      ...env,
      GATEWAY_STORE: `sqlite://${join(dir, 'gateway.sqlite')}`,
      GATEWAY_UPSTREAMS: JSON.stringify([
        { id: 'gitlab', type: 'gitlab', issuer: 'https://gitlab.example.net', client_id: 'c', client_secret: 's' },
      ]),
      GATEWAY_HOST_RULES: JSON.stringify([
        { host: 'app.example.com', path: '/flower', allowed_groups: ['gitlab:acme/ops'] },
      ]),
    };
    let sub = '';
    before(async () => {
      const store = await openStore(settings.GATEWAY_STORE);
      const upstream = { iss: 'https://gitlab.example.net', sub: '42', id: 'gitlab' };
      const profile = { email: 'grace@example.com', email_verified: true, name: 'Grace' };
      sub = (await resolveAccount(store, upstream, profile, [], { groups: ['acme/ops'], failed: false })).sub;
      // One address, two accounts: the second person through the same upstream.
      const twin = { iss: 'https://gitlab.example.net', sub: '43', id: 'gitlab' };
      await resolveAccount(store, twin, { email: 'shared@example.com', email_verified: true }, [], {
        groups: [],
        failed: false,
      });
      await resolveAccount(store, { ...twin, sub: '44' }, { email: 'shared@example.com', email_verified: true }, [], {
        groups: [],
        failed: false,
      });
      await store.close();
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it('finds the account by sub, user name or e-mail, and decides with its stored groups', () => {
      for (const user of [sub, 'grace', 'Grace@Example.com']) {
        const run = explainWith(settings, '--host', 'app.example.com', '--path', '/flower', '--user', user);
        assert.equal(run.code, 0, run.out + run.err);
        assert.match(run.out, new RegExp(`account: ${sub} \\(grace\\)`));
        assert.match(run.out, /groups: gitlab:acme\/ops; upstream: gitlab/);
        assert.match(run.out, /passes \(202\)/);
      }
    });

    it('an unknown user or an address two accounts share is a usage answer, not a guess', () => {
      const nobody = explainWith(settings, '--host', 'app.example.com', '--path', '/flower', '--user', 'nobody@x.org');
      assert.equal(nobody.code, 2);
      assert.match(nobody.err, /no account has signed in with nobody@x.org/);
      const shared = explainWith(
        settings,
        '--host',
        'app.example.com',
        '--path',
        '/flower',
        '--user',
        'shared@example.com',
      );
      assert.equal(shared.code, 2);
      assert.match(shared.err, /2 accounts have shared@example.com .*give the sub/);
      const mixed = explainWith(settings, '--host', 'app.example.com', '--user', sub, '--email', 'a@b.c');
      assert.equal(mixed.code, 2);
      assert.match(mixed.err, /not with --email/);
    });
  });
});
