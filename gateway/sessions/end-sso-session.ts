/**
 * Ends an SSO session everywhere: the OpenID Provider's session (so the next app goes back to
 * sign-in), every grant it holds with their tokens (so no app can refresh), a back-channel logout
 * token to every app that asked for one, and every forward-auth
 * cookie hanging on it, on every domain (refused locally by `sid`, no store round trip).
 */
import type Provider from 'oidc-provider';
import type { Store } from '../../adapters/store.ts';
import { endGrant } from '../../adapters/end-grant.ts';
import { createOidcAdapter } from '../../adapters/oidc-adapter.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { ForwardAuthSessions } from './forward-auth-sessions.ts';
import { backchannelLogoutSession } from './backchannel-delivery.ts';

export interface SsoSessionEnderDeps {
  provider: Provider;
  store: Store;
  sealing: Sealing;
  forwardAuthSessions: ForwardAuthSessions;
  markRevoked: (sid: string) => void;
}

export function createSsoSessionEnder(deps: SsoSessionEnderDeps) {
  const adapterFor = createOidcAdapter(deps.store, deps.sealing);
  return async function endSsoSession(sid: string): Promise<void> {
    deps.markRevoked(sid);
    await deps.forwardAuthSessions.removeAllForSid(sid);
    const session = await deps.provider.Session.findByUid(sid);
    if (!session) return;
    await backchannelLogoutSession(deps.provider, session);
    const authorizations = (session.authorizations ?? {}) as Record<string, { grantId?: string }>;
    for (const { grantId } of Object.values(authorizations)) {
      if (grantId) await endGrant(adapterFor, grantId);
    }
    await session.destroy();
  };
}
