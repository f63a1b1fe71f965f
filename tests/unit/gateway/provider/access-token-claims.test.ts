import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createMemoryStore } from '../../../../adapters/memory-store.ts';
import type { Store } from '../../../../adapters/store.ts';
import { saveAccount } from '../../../../gateway/accounts/account-store.ts';
import type { Account } from '../../../../gateway/accounts/account.ts';
import { createAccessTokenClaims } from '../../../../gateway/provider/access-token-claims.ts';

const now = Date.now();
const ada: Account = {
  sub: 'sub-ada',
  upstream: { iss: 'https://accounts.google.com', sub: 'google-ada' },
  preferred_username: 'ada',
  email: 'Ada@Example.com',
  email_verified: true,
  name: 'Ada Lovelace',
  picture: 'https://example.com/ada.png',
  createdAt: now,
  updatedAt: now,
  upstreamCheckedAt: now,
};
const groups = { ops: ['ada@example.com'], admins: ['root@example.com'], readers: ['ADA@EXAMPLE.COM'] };

describe('the claims an access token carries about its user', () => {
  let store: Store;
  let claimsFor: ReturnType<typeof createAccessTokenClaims>;

  before(async () => {
    store = createMemoryStore();
    await saveAccount(store, ada);
    await saveAccount(store, {
      ...ada,
      sub: 'sub-bob',
      preferred_username: 'bob',
      email: undefined,
      name: undefined,
      email_verified: undefined,
    });
    await saveAccount(store, {
      ...ada,
      sub: 'sub-eve',
      preferred_username: 'eve',
      email: 'eve@example.com',
      email_verified: undefined,
    });
    claimsFor = createAccessTokenClaims(store, groups);
  });
  after(() => store.close());

  const token = (extra: Record<string, unknown>) => ({
    kind: 'AccessToken',
    accountId: 'sub-ada',
    grantId: 'grant-1',
    sessionUid: 'session-1',
    scope: 'openid',
    ...extra,
  });

  it('releases identity claims only for the scopes consented to', async () => {
    assert.deepEqual(await claimsFor(undefined, token({})), {
      grant_id: 'grant-1',
      session_uid: 'session-1',
      groups: ['ops', 'readers'],
    });
    assert.deepEqual(await claimsFor(undefined, token({ scope: 'openid email' })), {
      grant_id: 'grant-1',
      session_uid: 'session-1',
      email: 'Ada@Example.com',
      email_verified: true,
      groups: ['ops', 'readers'],
    });
    const profile = await claimsFor(undefined, token({ scope: 'openid profile' }));
    assert.equal(profile?.['preferred_username'], 'ada');
    assert.equal(profile?.['name'], 'Ada Lovelace');
    assert.equal(profile?.['email'], undefined);
    assert.equal(profile?.['picture'], undefined, 'only what a resource server decides on');
  });

  it('matches scopes as whole words, not substrings', async () => {
    const claims = await claimsFor(undefined, token({ scope: 'openid emails profiles xemail' }));
    assert.equal(claims?.['email'], undefined);
    assert.equal(claims?.['preferred_username'], undefined);
    assert.deepEqual(Object.keys((await claimsFor(undefined, token({ scope: undefined }))) ?? {}).sort(), [
      'grant_id',
      'groups',
      'session_uid',
    ]);
  });

  it('states email_verified as false when the upstream did not say true', async () => {
    const claims = await claimsFor(undefined, token({ accountId: 'sub-eve', scope: 'email' }));
    assert.equal(claims?.['email'], 'eve@example.com');
    assert.equal(claims?.['email_verified'], false);
    assert.equal(claims?.['groups'], undefined, 'no group names her');
  });

  it('releases neither e-mail nor groups for an account without an address', async () => {
    assert.deepEqual(await claimsFor(undefined, token({ accountId: 'sub-bob', scope: 'openid email profile' })), {
      grant_id: 'grant-1',
      session_uid: 'session-1',
      preferred_username: 'bob',
    });
  });

  it("marks a machine's token as one, and adds nothing to other tokens, or to a token without an account", async () => {
    assert.deepEqual(await claimsFor(undefined, token({ kind: 'ClientCredentials', accountId: undefined })), {
      gty: 'client_credentials',
    });
    for (const kind of ['RefreshToken', undefined]) {
      assert.equal(await claimsFor(undefined, token({ kind })), undefined, String(kind));
    }
    assert.equal(await claimsFor(undefined, token({ accountId: undefined })), undefined);
    assert.equal(await claimsFor(undefined, token({ accountId: '' })), undefined);
  });

  it('keeps the grant and session of a token whose account is gone, and nothing else', async () => {
    assert.deepEqual(await claimsFor(undefined, token({ accountId: 'sub-deleted', scope: 'openid email profile' })), {
      grant_id: 'grant-1',
      session_uid: 'session-1',
    });
    assert.deepEqual(
      await claimsFor(undefined, token({ accountId: 'sub-deleted', grantId: undefined, sessionUid: '' })),
      {},
    );
  });
});
