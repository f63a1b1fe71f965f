/**
 * Offline verification of the gateway's own access tokens (RFC 9068 §4): signature against the
 * gateway's JWKS, `typ` at+jwt, `iss`, `exp`/`nbf`, and `aud` when the caller names one. Only
 * asymmetric algorithms the gateway signs with are accepted (no `none`, no HMAC confusion).
 */
import { jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';

/** The claim that names the grant an access token was issued under (access-token-claims.ts). */
export const GRANT_ID_CLAIM = 'grant_id';

/** On a machine's access token (client credentials): `client_credentials`. Users' tokens have none. */
export const GRANT_TYPE_CLAIM = 'gty';

/** True for a machine's access token (client credentials): its `sub` is a client, not a user. */
export const isMachineToken = (claims: Readonly<Record<string, unknown>>) =>
  claims[GRANT_TYPE_CLAIM] === 'client_credentials';

export interface AccessTokenClaims extends JWTPayload {
  sub: string;
  client_id?: string;
  scope?: string;
  [GRANT_ID_CLAIM]?: string;
}

export type AccessTokenVerifier = (
  token: string,
  options?: { audience?: string | string[] },
) => Promise<AccessTokenClaims>;

/** `keySet` resolves the gateway's currently published keys (see live-keys.ts). */
export function createAccessTokenVerifier(issuer: string, keySet: JWTVerifyGetKey): AccessTokenVerifier {
  return async (token, options = {}) => {
    const { payload } = await jwtVerify(token, keySet, {
      issuer,
      typ: 'at+jwt',
      algorithms: ['ES256', 'RS256'],
      requiredClaims: ['sub', 'exp', 'iat'],
      ...(options.audience === undefined ? {} : { audience: options.audience }),
    });
    // jose checks that `sub` is present, not its type: a numeric or empty `sub` is no subject of ours.
    if (typeof payload.sub !== 'string' || payload.sub === '')
      throw new TypeError('the access token has no string sub');
    return payload as AccessTokenClaims;
  };
}
