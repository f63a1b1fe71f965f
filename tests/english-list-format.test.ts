/**
 * oidc-provider's English list phrasings without ICU (gateway/provider/english-list-format.ts):
 * the same strings as ICU's own Intl.ListFormat, the real formatter for anything else, and the
 * real one back in place once oidc-provider has loaded.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EnglishListFormat, loadWithEnglishListFormat } from '../gateway/provider/english-list-format.ts';

const LISTS = [[], ['a'], ['a', 'b'], ['a', 'b', 'c'], ['openid', 'profile', 'email', 'offline_access'], ['x y', 'z']];

describe('English list phrasings without ICU', () => {
  for (const type of ['conjunction', 'disjunction'] as const) {
    it(`phrases ${type}s as ICU does`, () => {
      const ours = new EnglishListFormat('en', { type });
      const icu = new Intl.ListFormat('en', { type });
      for (const list of LISTS) assert.equal(ours.format(list), icu.format(list), JSON.stringify(list));
      assert.equal(ours.format(new Set(['a', 'b', 'c'])), icu.format(new Set(['a', 'b', 'c'])), 'any iterable');
      assert.throws(() => ours.format([1] as never), TypeError);
    });
  }

  it('hands every other locale, type or style to the real formatter', () => {
    const korean = new EnglishListFormat('ko', { type: 'conjunction' });
    assert.ok(korean instanceof Intl.ListFormat);
    assert.equal(korean.format(['a', 'b']), new Intl.ListFormat('ko').format(['a', 'b']));
    assert.ok(new EnglishListFormat('en', { type: 'unit' }) instanceof Intl.ListFormat);
    assert.ok(new EnglishListFormat('en', { style: 'short' }) instanceof Intl.ListFormat);
  });

  it('puts the real Intl.ListFormat back once the load ends, or fails', async () => {
    const real = Intl.ListFormat;
    const seen = await loadWithEnglishListFormat(async () => Intl.ListFormat);
    assert.equal(seen, EnglishListFormat, 'the load saw the plain formatter');
    assert.equal(Intl.ListFormat, real);
    await assert.rejects(
      loadWithEnglishListFormat(async () => {
        throw new Error('load failed');
      }),
      /load failed/,
    );
    assert.equal(Intl.ListFormat, real);
  });
});
