/**
 * Which upstream re-checks an app's refresh, and when (gateway/provider/find-account.ts): the
 * upstream of the refresh token's own sign-in (its `amr`), on that upstream's own clock. A linked
 * account's sign-in or refresh through one upstream must not postpone the check of another's
 * grant (a user removed from a GitLab group would keep the GitLab grant as long as they kept
 * using GitHub), and an address kept across Microsoft re-checks must be Microsoft's own.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KoaContextWithOIDC, RefreshToken } from 'oidc-provider';
import type { UpstreamConfig } from '../../../../config/config-type.ts';
import { createMemoryStore } from '../../../../adapters/memory-store.ts';
import type { Account } from '../../../../gateway/accounts/account.ts';
import { findAccountBySub, saveAccount } from '../../../../gateway/accounts/account-store.ts';
import { createFindAccount } from '../../../../gateway/provider/find-account.ts';
import { createUpstreams, type Upstream } from '../../../../gateway/upstream/upstreams.ts';

const MINUTE = 60_000;

function fakeUpstream(id: string, type: UpstreamConfig['type'], answer: Record<string, unknown>, calls: string[]) {
  return {
    config: { id, type, issuer: `https://${id}.example`, name: id } as UpstreamConfig,
    client: {},
    vault: {
      async userinfo() {
        calls.push(id);
        return answer;
      },
    },
    policy: { hostedDomains: [], allowedEmailDomains: [] },
  } as unknown as Upstream;
}

describe('the re-check of a refresh', () => {
  it("asks the upstream of the refresh token's sign-in, on that upstream's own clock", async () => {
    const store = createMemoryStore({});
    const calls: string[] = [];
    const upstreams = createUpstreams([
      fakeUpstream('github', 'github', { sub: '7' }, calls),
      fakeUpstream('gitlab', 'gitlab', { sub: '9' }, calls),
    ]);
    const now = Date.now();
    const account: Account = {
      sub: 'u1',
      upstream: { iss: 'https://github.example', sub: '7', id: 'github' },
      preferred_username: 'u1',
      createdAt: now,
      updatedAt: now,
      // Just now at GitHub (a sign-in there); GitLab's grant last checked 10 minutes ago.
      upstreamCheckedAt: now,
      upstreamChecks: { github: now, gitlab: now - 10 * MINUTE },
    };
    await saveAccount(store, account);
    const findAccount = createFindAccount({
      store,
      upstreams,
      recheckIntervalMs: 5 * MINUTE,
      staticGroups: {},
      log: { info() {}, warn() {} },
    });
    const refreshOf = (id: string) =>
      ({ kind: 'RefreshToken', amr: ['fed', `upstream:${id}`] }) as unknown as RefreshToken;
    const ctx = {} as KoaContextWithOIDC;

    assert.ok(await findAccount(ctx, 'u1', refreshOf('github')));
    assert.deepEqual(calls, [], 'GitHub checked a moment ago');
    assert.ok(await findAccount(ctx, 'u1', refreshOf('gitlab')));
    assert.deepEqual(calls, ['gitlab'], "GitLab's own clock is due, whatever GitHub's says");
    const checked = await findAccountBySub(store, 'u1');
    assert.ok((checked?.upstreamChecks?.['gitlab'] ?? 0) >= now);
    assert.ok(await findAccount(ctx, 'u1', refreshOf('gitlab')));
    assert.deepEqual(calls, ['gitlab'], 'and not again within the interval');
    await store.close();
  });

  it('keeps an address across Microsoft re-checks only if Microsoft gave it', async () => {
    const store = createMemoryStore({});
    const calls: string[] = [];
    const upstreams = createUpstreams([
      fakeUpstream('entra', 'microsoft', { sub: 't:o', tid: 't' }, calls),
      fakeUpstream('gitlab', 'gitlab', { sub: '9' }, calls),
    ]);
    const base = {
      upstream: { iss: 'https://entra.example', sub: 't:o', id: 'entra' },
      preferred_username: 'u',
      email: 'boss@corp.example',
      email_verified: true,
      createdAt: 0,
      updatedAt: 0,
      upstreamCheckedAt: 0,
    };
    await saveAccount(store, { ...base, sub: 'from-gitlab', emailFrom: 'gitlab' });
    await saveAccount(store, { ...base, sub: 'from-entra', emailFrom: 'entra' });
    const findAccount = createFindAccount({
      store,
      upstreams,
      recheckIntervalMs: 0,
      staticGroups: {},
      log: { info() {}, warn() {} },
    });
    const refresh = { kind: 'RefreshToken', amr: ['fed', 'upstream:entra'] } as unknown as RefreshToken;
    await findAccount({} as KoaContextWithOIDC, 'from-gitlab', refresh);
    await findAccount({} as KoaContextWithOIDC, 'from-entra', refresh);
    assert.equal(
      (await findAccountBySub(store, 'from-gitlab'))?.email,
      undefined,
      "GitLab's address is not Graph's to keep",
    );
    assert.equal((await findAccountBySub(store, 'from-entra'))?.email, 'boss@corp.example');
    await store.close();
  });
});
