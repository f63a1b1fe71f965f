import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimsForScope } from '../../../../gateway/provider/scope-claims.ts';

describe('claims by scope (OIDC Core §5.4)', () => {
  const claims = { sub: 's', email: 'a@example.com', email_verified: true, name: 'Ada', preferred_username: 'ada' };

  it('releases only what the scopes ask for, and only claims that exist', () => {
    assert.deepEqual(claimsForScope('openid', claims), { sub: 's' });
    assert.deepEqual(claimsForScope('openid email', claims), {
      sub: 's',
      email: 'a@example.com',
      email_verified: true,
    });
    assert.deepEqual(claimsForScope('openid profile', claims), { sub: 's', name: 'Ada', preferred_username: 'ada' });
    assert.deepEqual(claimsForScope('offline_access upstream_token unknown', claims), {});
  });
});
