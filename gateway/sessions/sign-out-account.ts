/**
 * Signs one user out everywhere, from anywhere that reaches the store (`npx gateway users
 * sign-out`, run while gateways serve): every oidc-provider session of the account is destroyed,
 * every grant those sessions hold is revoked with its tokens (RFC 7009 semantics: no app can
 * refresh), every forward-auth session hanging on them is removed, and every running instance is
 * told (the store's channel) to refuse their forward-auth cookies at once. Access tokens already
 * issued still verify offline until they expire (keep them short-lived); introspection answers
 * `active: false` for them at once, since their grants are gone.
 */
import type { AdapterPayload } from 'oidc-provider';
import { endGrant } from '../../adapters/end-grant.ts';
import { createOidcAdapter, sessionsOfAccount } from '../../adapters/oidc-adapter.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { removeForwardAuthSessionsOf } from './forward-auth-sessions.ts';
import { publishRevokedSession } from './revoked-sessions.ts';

export interface SignOutResult {
  sessions: number;
  grants: number;
  forwardAuthSessions: number;
}

interface SessionPayload extends AdapterPayload {
  accountId?: string;
  uid?: string;
  authorizations?: Record<string, { grantId?: string }>;
}

export async function signOutAccount(store: Store, sealing: Sealing, sub: string): Promise<SignOutResult> {
  const adapterFor = createOidcAdapter(store, sealing);
  const result: SignOutResult = { sessions: 0, grants: 0, forwardAuthSessions: 0 };
  for (const found of await sessionsOfAccount(store, sealing, sub)) {
    const session = found.payload as SessionPayload;
    if (session.accountId !== sub) continue;
    for (const { grantId } of Object.values(session.authorizations ?? {})) {
      if (!grantId) continue;
      await endGrant(adapterFor, grantId);
      result.grants += 1;
    }
    await found.destroy();
    result.sessions += 1;
    if (session.uid) {
      result.forwardAuthSessions += await removeForwardAuthSessionsOf(store, session.uid);
      await publishRevokedSession(store, session.uid);
    }
  }
  return result;
}
