/**
 * Which claims each scope releases (OIDC Core §5.4), shared by oidc-provider's configuration and
 * the gateway's userinfo for JWT access tokens, so both answer alike.
 */
import { UPSTREAM_TOKEN_SCOPE } from './upstream-token-scope.ts';

export const scopeClaims: Readonly<Record<string, readonly string[]>> = {
  openid: ['sub'],
  email: ['email', 'email_verified'],
  profile: ['name', 'given_name', 'family_name', 'picture', 'locale', 'preferred_username', 'updated_at', 'hd'],
  // GATEWAY_GROUPS and the sign-in upstream's groups (account-groups.ts), as oauth2-proxy and Dex name them.
  groups: ['groups'],
};

/**
 * The scopes the gateway supports: OIDC's, `groups`, and `upstream_token` (no claims: the user's
 * consent to token exchange, upstream-token-scope.ts).
 */
export const supportedScopes = [
  'openid',
  'offline_access',
  'email',
  'profile',
  'groups',
  UPSTREAM_TOKEN_SCOPE,
] as const;

/** The claims released for a space-separated scope string. */
export function claimsForScope(scope: string, claims: Record<string, unknown>): Record<string, unknown> {
  const released: Record<string, unknown> = {};
  for (const name of scope.split(' ')) {
    for (const claim of scopeClaims[name] ?? []) {
      if (claims[claim] !== undefined) released[claim] = claims[claim];
    }
  }
  return released;
}
