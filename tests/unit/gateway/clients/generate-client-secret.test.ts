import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateClientId, generateClientSecret } from '../../../../gateway/clients/generate-client-secret.ts';

describe('generated client ids and secrets', () => {
  it('makes ids of 22 base64url characters that never start with "-" (an option to the CLI)', () => {
    // One id in 64 would start with "-" without the re-roll: 5,000 make that near certain.
    const ids = Array.from({ length: 5_000 }, generateClientId);
    for (const id of ids) {
      assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    }
    assert.equal(new Set(ids).size, ids.length);
  });

  it('makes secrets of 256 bits', () => {
    assert.match(generateClientSecret(), /^[A-Za-z0-9_-]{43}$/);
  });
});
