import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { perMinute } from '../../../../gateway/forward-auth/served-hosts.ts';

describe('the bound on refused-host warnings', () => {
  it('allows `limit` events in a minute, then none until the next minute starts', () => {
    let now = 1_000_000;
    const warnings = perMinute(3, () => now);
    assert.deepEqual(
      Array.from({ length: 5 }, () => warnings.allow()),
      [true, true, true, false, false],
    );
    now += 59_999;
    assert.equal(warnings.allow(), false, 'still the same minute');
    now += 1;
    assert.deepEqual(
      Array.from({ length: 4 }, () => warnings.allow()),
      [true, true, true, false],
    );
  });
});
