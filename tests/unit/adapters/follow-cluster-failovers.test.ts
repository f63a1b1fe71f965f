import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { assertCheckedRedisClient } from '../../../adapters/follow-cluster-failovers.ts';

describe("node-redis internals' version check", () => {
  it('accepts the installed @redis/client, and refuses a major it was not checked against', () => {
    assert.doesNotThrow(() => assertCheckedRedisClient());
    assert.doesNotThrow(() => assertCheckedRedisClient('5.13.0'));
    for (const version of ['4.7.0', '5.11.9', '6.0.0']) {
      assert.throws(() => assertCheckedRedisClient(version), /checked against 5\.12–5\.x/, version);
    }
  });
});
