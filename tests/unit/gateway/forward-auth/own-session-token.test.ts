import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isSessionToken } from '../../../../gateway/forward-auth/own-session-token.ts';

describe("a forward-auth session's own cookie JWT", () => {
  const session = { sub: 'ada', sid: 'sid', refreshToken: 'rt', accessToken: 'current', createdAt: 0 };

  it('is the current one, or the one the last refresh replaced', () => {
    assert.ok(isSessionToken(session, 'current'));
    assert.ok(isSessionToken({ ...session, previousAccessToken: 'previous' }, 'previous'));
  });

  it('is no other token, whatever session id came with it', () => {
    assert.ok(!isSessionToken(session, 'previous'));
    assert.ok(!isSessionToken({ ...session, previousAccessToken: 'previous' }, 'other'));
    assert.ok(!isSessionToken(session, ''));
  });
});
