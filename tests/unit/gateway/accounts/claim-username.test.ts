import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryStore } from '../../../../adapters/memory-store.ts';
import { claimUsername, usernameBase } from '../../../../gateway/accounts/claim-username.ts';

describe('usernames', () => {
  it('takes the base from the e-mail, else the name, else `user`', () => {
    assert.equal(usernameBase('Ada.Lovelace+x@example.com', 'Ada'), 'ada.lovelacex');
    assert.equal(usernameBase(undefined, 'Zoë  Müller'), 'zoe.muller');
    assert.equal(usernameBase('@example.com', '李'), 'user', 'nothing usable in either');
    assert.equal(usernameBase('...__--@x.test', undefined), 'user');
    assert.ok(usernameBase('a'.repeat(100), undefined).length <= 30);
  });

  it('gives two accounts of one base two names, and never a reserved name as it is', async () => {
    const store = createMemoryStore();
    try {
      const first = await claimUsername(store, 'sub-1', 'ada', []);
      const second = await claimUsername(store, 'sub-2', 'ada', []);
      assert.equal(first, 'ada');
      assert.notEqual(second, 'ada');
      assert.match(second, /^ada/);
      const admin = await claimUsername(store, 'sub-3', 'admin', ['admin']);
      assert.notEqual(admin, 'admin');
    } finally {
      await store.close();
    }
  });
});
