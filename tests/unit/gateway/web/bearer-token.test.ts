import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bearerToken } from '../../../../gateway/web/bearer-token.ts';

describe('bearerToken (RFC 6750 §2.1)', () => {
  it('takes the b64token of a Bearer header, whatever the scheme case', () => {
    assert.equal(bearerToken('Bearer abc.DEF-_~+/=='), 'abc.DEF-_~+/==');
    assert.equal(bearerToken('bearer   xyz'), 'xyz');
  });

  it('refuses every other shape', () => {
    for (const header of [
      undefined,
      '',
      'Bearer',
      'Bearer ',
      'Basic dXNlcjpwYXNz',
      'Bearer a b',
      'Bearer a=b',
      'Bearer ä',
    ]) {
      assert.equal(bearerToken(header), undefined, String(header));
    }
  });
});
