import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_RESERVED_USERNAMES, parseUsernames } from '../../../config/reserved-usernames.ts';

describe('reserved user names', () => {
  it('reads names lower-cased, as the gateway forms user names', () => {
    assert.deepEqual(parseUsernames('Admin, ROOT,ops.team'), { value: ['admin', 'root', 'ops.team'] });
  });

  it('refuses a name the gateway could never hand out', () => {
    for (const bad of ['ad min', 'admin@example.com', 'ünicode', 'a'.repeat(31), 'x/y']) {
      assert.ok('problem' in parseUsernames(bad), bad);
    }
  });

  it('reserves the role mailboxes of RFC 2142 and the names of authority by default', () => {
    for (const name of ['admin', 'root', 'security', 'abuse', 'postmaster', 'webmaster', 'support', 'noc']) {
      assert.ok(DEFAULT_RESERVED_USERNAMES.includes(name), name);
    }
    for (const name of DEFAULT_RESERVED_USERNAMES) assert.deepEqual(parseUsernames(name), { value: [name] });
  });
});
