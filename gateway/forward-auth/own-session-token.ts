/**
 * Which cookie JWT speaks for a forward-auth session: only the session's own may refresh it
 * (session-refresh.ts) or sign it out (sign-out-route.ts). A valid token of another session, or
 * of an app, that names this session's id does neither.
 */
import type { ForwardAuthSession } from '../sessions/forward-auth-sessions.ts';

/** True when `token` is the session's own cookie JWT: the current one, or the one it just replaced. */
export function isSessionToken(session: ForwardAuthSession, token: string): boolean {
  return (
    token === session.accessToken ||
    (session.previousAccessToken !== undefined && token === session.previousAccessToken)
  );
}
