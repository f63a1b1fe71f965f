/**
 * RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0, `/session/end`) is oidc-provider's:
 * on the confirmation with `logout=yes` it sends the apps' back-channel logout tokens, revokes the
 * session's grants (but those it keeps past a logout: `offline_access`) and destroys the session.
 * The gateway's sign-out (sessions/sign-out.ts) then completes it with the very steps every other
 * sign-out takes, from the session as oidc-provider held it: its forward-auth cookies, which verify
 * offline, are refused on every instance and their sessions removed, every grant left is ended,
 * and the logout tokens already sent are not sent again. A confirmation that kept the session
 * (signing out of the one app only) is no sign-out.
 */
import type { SessionRecord, SignOut } from '../sessions/sign-out.ts';
import { END_SESSION_CONFIRM_PATH } from './provider-routes.ts';
import type Provider from 'oidc-provider';

interface Ctx {
  method: string;
  path: string;
  oidc?: { session?: SessionRecord };
}

/** For `provider.use()`: after a logout confirmation whose session is gone, the rest of the sign-out. */
export function endSessionSignOut(deps: { provider: Provider; signOut: SignOut }) {
  return async function afterEndSession(ctx: Ctx, next: () => Promise<void>): Promise<void> {
    await next();
    if (ctx.method !== 'POST' || ctx.path !== END_SESSION_CONFIRM_PATH) return;
    const session = ctx.oidc?.session;
    if (!session?.uid || (await deps.provider.Session.findByUid(session.uid))) return;
    await deps.signOut.completeLogout(session);
  };
}
