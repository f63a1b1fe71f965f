/**
 * Whether one of the gateway's access JWTs still stands, for the endpoints that answer about the
 * token itself rather than trusting it offline: introspection (RFC 7662), revocation (RFC 7009) and
 * userinfo (OIDC Core §5.3). It must verify (the gateway's keys, `iss`, `typ: at+jwt`, `exp`) and
 * its grant (`grant_id`) must live, for the same client and user: the Grant record in the shared
 * store, which every ending removes (revocation, logout, refresh-token reuse, sign-out), so every
 * instance answers alike at once. An app that verifies offline keeps accepting the JWT until it
 * expires; these endpoints do not.
 */
import type { AccessTokenClaims, AccessTokenVerifier } from '../keys/access-token-verifier.ts';

export interface LiveAccessToken {
  claims: AccessTokenClaims;
  grantId: string;
}

export type LiveAccessTokens = (token: string) => Promise<LiveAccessToken | undefined>;

export function createLiveAccessTokens(deps: {
  verify: AccessTokenVerifier;
  /** The grant's client and account, or undefined once it has ended. */
  findGrant: (
    grantId: string,
  ) => Promise<{ clientId?: string | undefined; accountId?: string | undefined } | undefined>;
}): LiveAccessTokens {
  return async (token) => {
    let claims: AccessTokenClaims;
    try {
      claims = await deps.verify(token);
    } catch {
      return undefined;
    }
    const grantId = claims.grant_id;
    if (!grantId) return undefined;
    const grant = await deps.findGrant(grantId);
    if (!grant || grant.accountId !== claims.sub) return undefined;
    // A delegated token (`act`: token exchange between apps) is issued to the acting app under the
    // grant of the app the user signed in to; any other token, to that app itself.
    if (claims['act'] === undefined && grant.clientId !== claims.client_id) return undefined;
    return { claims, grantId };
  };
}
