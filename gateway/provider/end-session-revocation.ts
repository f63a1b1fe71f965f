/**
 * RP-initiated logout (`/session/end`) is handled by oidc-provider, which destroys the session
 * and revokes its grants. Forward-auth cookies verify offline, so they must also learn of it: after
 * a logout confirmation whose session is gone, its uid is marked revoked (local, no store round
 * trip on the hot path) and its forward-auth sessions are removed.
 */
import type Provider from 'oidc-provider';
import type { ForwardAuthSessions } from '../sessions/forward-auth-sessions.ts';
import { END_SESSION_CONFIRM_PATH } from './provider-routes.ts';

interface Ctx {
  method: string;
  path: string;
  oidc?: { session?: { uid?: string } };
}

export function endSessionRevocation(deps: {
  provider: Provider;
  forwardAuthSessions: ForwardAuthSessions;
  markRevoked: (uid: string) => void;
}) {
  return async function afterEndSession(ctx: Ctx, next: () => Promise<void>): Promise<void> {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== END_SESSION_CONFIRM_PATH) return;
    const uid = ctx.oidc?.session?.uid;
    if (!uid || (await deps.provider.Session.findByUid(uid))) return;
    deps.markRevoked(uid);
    await deps.forwardAuthSessions.removeAllForSid(uid);
  };
}
