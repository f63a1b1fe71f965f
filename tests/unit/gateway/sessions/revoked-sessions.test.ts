import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createMemoryStore } from '../../../../adapters/memory-store.ts';
import {
  recordRevokedSession,
  revocationLifetimeMs,
  startRevokedSessions,
} from '../../../../gateway/sessions/revoked-sessions.ts';

const quiet = { warn: () => {} };

describe('revoked sessions', () => {
  it('are remembered for the access-token lifetime plus a minute of skew', () => {
    assert.equal(revocationLifetimeMs(300), 360_000);
  });

  it('reach an instance started after the sign-out, from the store', async () => {
    const store = createMemoryStore();
    const first = await startRevokedSessions(store, 60_000, quiet);
    first.revoke('session-a');
    await recordRevokedSession(store, 'session-b', 60_000); // as the CLI does
    // Let the fire-and-forget write of `revoke` land.
    await new Promise((resolve) => setTimeout(resolve, 20));
    const later = await startRevokedSessions(store, 60_000, quiet);
    assert.equal(later.isRevoked('session-a'), true);
    assert.equal(later.isRevoked('session-b'), true);
    assert.equal(later.isRevoked('session-c'), false);
    assert.equal(later.isRevoked(undefined), false);
    await first.stop();
    await later.stop();
    await store.close();
  });

  it('ignores what is not a session uid', async () => {
    const store = createMemoryStore();
    await recordRevokedSession(store, 'not a uid; at all', 60_000);
    const sessions = await startRevokedSessions(store, 60_000, quiet);
    assert.equal(sessions.isRevoked('not a uid; at all'), false);
    await sessions.stop();
    await store.close();
  });
});
