/**
 * The vault of users' upstream tokens (gateway/upstream/upstream-tokens.ts) keeps each upstream's
 * tokens apart, and tokens stored before that (one entry per account) go to the account's own
 * upstream only, moved under its key on first read: after an upgrade nobody signs in again, and no
 * upstream is handed another's token.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { createMemoryStore } from '../../../../adapters/memory-store.ts';
import { createSecretBox } from '../../../../gateway/keys/secret-box.ts';
import type { UpstreamClient } from '../../../../gateway/upstream/upstream-client.ts';
import { createUpstreamTokenVault } from '../../../../gateway/upstream/upstream-tokens.ts';

/** No call reaches an upstream in these tests: every method refuses. */
const unreachable = new Proxy({} as UpstreamClient, {
  get: () => () => Promise.reject(new Error('no upstream call expected')),
});

describe('the upstream token vault', () => {
  const box = createSecretBox([randomBytes(32)]);

  it("keeps each upstream's tokens apart, and moves tokens stored per account to the account's own upstream", async () => {
    const map = new Map<string, string>();
    const store = createMemoryStore({ map });
    const owner = 'staff';
    const vault = (upstreamId: string) =>
      createUpstreamTokenVault(store, box, unreachable, {
        namespace: upstreamId,
        ttlMs: 60_000,
        ownsLegacyTokens: async () => upstreamId === owner,
      });
    const staff = vault('staff');
    const partners = vault('partners');

    await staff.save('u1', { access_token: 'staff-token' });
    await partners.save('u1', { access_token: 'partner-token' });
    assert.equal((await staff.load('u1'))?.access_token, 'staff-token');
    assert.equal((await partners.load('u1'))?.access_token, 'partner-token');
    await partners.remove('u1');
    assert.equal(await partners.load('u1'), undefined, 'removed at partners only');
    assert.equal((await staff.load('u1'))?.access_token, 'staff-token');

    // As an earlier version stored them: one entry per account, sealed.
    await store.set('upstream-tokens:u2', box.seal({ access_token: 'old-token', refresh_token: 'old-refresh' }));
    assert.equal(await partners.load('u2'), undefined, 'not the tokens of another upstream');
    assert.ok(map.has('upstream-tokens:u2'), 'left for their owner');
    assert.equal((await staff.load('u2'))?.refresh_token, 'old-refresh', "the account's own upstream takes them");
    assert.ok(!map.has('upstream-tokens:u2'), 'moved');
    assert.equal((await staff.load('u2'))?.access_token, 'old-token', 'under its own key now');
    assert.ok(![...map.values()].some((value) => value.includes('old-token')), 'sealed, as before');
    await store.close();
  });
});
