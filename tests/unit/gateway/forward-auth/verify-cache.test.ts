import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AccessTokenClaims } from '../../../../gateway/keys/access-token-verifier.ts';
import { createVerifyCache } from '../../../../gateway/forward-auth/verify-cache.ts';

describe('the cache of verified forward-auth tokens', () => {
  const signature = 's'.repeat(86);
  const inAnHour = Math.floor(Date.now() / 1000) + 3600;

  function counting(claims: AccessTokenClaims) {
    const calls: string[] = [];
    const verifyCached = createVerifyCache(async (token) => {
      calls.push(token);
      return claims;
    });
    return { calls, verifyCached };
  }

  it('verifies a token once, then answers from the cache by its signature until it expires', async () => {
    const claims = { sub: 'ada', exp: inAnHour };
    const { calls, verifyCached } = counting(claims);
    assert.equal(await verifyCached(`h.p.${signature}`), claims);
    assert.equal(await verifyCached(`h.p.${signature}`), claims);
    assert.equal(await verifyCached(`other.header.${signature}`), claims, 'keyed by the signature alone');
    assert.deepEqual(calls, [`h.p.${signature}`]);
  });

  it('never caches a token past its expiry, nor one with too short a signature to key by', async () => {
    const expired = counting({ sub: 'ada', exp: Math.floor(Date.now() / 1000) - 1 });
    await expired.verifyCached(`h.p.${signature}`);
    await expired.verifyCached(`h.p.${signature}`);
    assert.equal(expired.calls.length, 2);
    const short = counting({ sub: 'ada', exp: inAnHour });
    await short.verifyCached('h.p.short');
    await short.verifyCached('h.p.short');
    assert.equal(short.calls.length, 2);
  });

  it('caches no refusal', async () => {
    let calls = 0;
    const verifyCached = createVerifyCache(async () => {
      calls += 1;
      throw new Error('bad signature');
    });
    await assert.rejects(verifyCached(`h.p.${signature}`));
    await assert.rejects(verifyCached(`h.p.${signature}`));
    assert.equal(calls, 2);
  });
});
