/**
 * Sign-in with oidc-client-ts: authorization code + PKCE (S256, RFC 7636), the browser as a
 * public client (RFC 9700 §2.1.1).
 *
 * Where things are kept, and why:
 * - tokens (access, refresh, ID) in memory only (`InMemoryWebStorage`): never in localStorage or a
 *   cookie that JavaScript can read, where any injected script could take them. A page reload
 *   forgets them; "Sign in" then completes at once while the gateway's session lasts (SSO);
 * - the PKCE verifier, `state` and `nonce` in sessionStorage, for the one round trip to the
 *   gateway and back (a full-page navigation that memory would not survive), removed at the
 *   callback.
 */
import { InMemoryWebStorage, UserManager, WebStorageStateStore } from 'oidc-client-ts';
import type { AppConfig } from './config.ts';

/** The path the gateway sends the browser back to (registered as `${origin}/callback`). */
export const CALLBACK_PATH = '/callback';

export function createUserManager(config: AppConfig): UserManager {
  const origin = window.location.origin;
  return new UserManager({
    authority: config.issuer,
    client_id: config.clientId,
    redirect_uri: `${origin}${CALLBACK_PATH}`,
    post_logout_redirect_uri: `${origin}/`,
    response_type: 'code',
    scope: 'openid email profile',
    ...(config.resource ? { resource: config.resource } : {}),
    userStore: new WebStorageStateStore({ store: new InMemoryWebStorage() }),
    stateStore: new WebStorageStateStore({ store: window.sessionStorage, prefix: 'oidc.' }),
    // Refresh on demand (a 401 from the API, see api-fetch.ts), not on a timer.
    automaticSilentRenew: false,
    // The ID token already carries the profile; no call to /me needed.
    loadUserInfo: false,
    monitorSession: false,
    // RFC 7009 §2.2 answers a revocation with an empty 200, which oidc-provider labels text/plain.
    revokeTokenAdditionalContentTypes: ['text/plain'],
  });
}

/**
 * Signs out: revokes this app's refresh token (RFC 7009), so it is dead even if the person then
 * chooses to stay signed in at the gateway, and goes to the gateway's end_session_endpoint
 * (OpenID Connect RP-Initiated Logout) with `id_token_hint` and `post_logout_redirect_uri`,
 * where the person can end the SSO session, and so every app's grant. A failed revocation does
 * not keep anyone signed in.
 */
export async function signOut(userManager: UserManager): Promise<void> {
  await userManager.revokeTokens(['refresh_token']).catch(() => undefined);
  await userManager.signoutRedirect();
}
