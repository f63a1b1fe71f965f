import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPublicSuffix } from '../../../config/is-public-suffix.ts';

describe('public suffixes', () => {
  it('knows ICANN and private suffixes, with a leading dot, a port or upper case', () => {
    for (const suffix of ['com', '.com', 'co.uk', '.CO.UK', 'github.io', '.github.io:443', 'herokuapp.com']) {
      assert.ok(isPublicSuffix(suffix), suffix);
    }
  });

  it('does not refuse a registrable domain, its subdomains, or names under unknown suffixes', () => {
    for (const name of ['example.com', '.example.co.uk', 'me.github.io', 'localhost', 'app.internal', 'internal']) {
      assert.ok(!isPublicSuffix(name), name);
    }
  });
});
