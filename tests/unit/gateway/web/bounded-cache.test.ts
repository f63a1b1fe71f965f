/** The bounded cache behind the hot path: never more than its bound, never a stale entry. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BoundedCache } from '../../../../gateway/web/bounded-cache.ts';

describe('BoundedCache', () => {
  it('keeps at most its bound, evicting the oldest entries first', () => {
    const cache = new BoundedCache<number>(100);
    const later = Date.now() + 60_000;
    for (let i = 0; i < 10_000; i += 1) cache.set(`token-${i}`, i, later);
    assert.equal(cache.size, 100);
    assert.equal(cache.get('token-0'), undefined);
    assert.equal(cache.get('token-9999'), 9999);
  });

  it('forgets an entry at its expiry', () => {
    const cache = new BoundedCache<string>(10);
    const now = Date.now();
    cache.set('a', 'x', now + 1000);
    assert.equal(cache.get('a', now + 999), 'x');
    assert.equal(cache.get('a', now + 1000), undefined);
    assert.equal(cache.size, 0, 'an expired entry is dropped when seen');
  });
});
