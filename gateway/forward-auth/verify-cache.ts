/**
 * The hot path's verification of gateway access JWTs: signature, iss, typ and exp, cached until
 * the token expires, so a check with a known cookie costs no signature check and no store round
 * trip (docs/PERFORMANCE.md).
 */
import type { AccessTokenClaims, AccessTokenVerifier } from '../keys/access-token-verifier.ts';
import { BoundedCache } from '../web/bounded-cache.ts';

export type VerifyCached = (token: string) => Promise<AccessTokenClaims>;

export function createVerifyCache(verify: AccessTokenVerifier): VerifyCached {
  const verified = new BoundedCache<AccessTokenClaims>(100_000);

  /**
   * The cache is keyed by the JWS signature alone (86 characters instead of the whole
   * ~800-character token, hashed on every check): a token whose header or payload was changed
   * under a cached signature gets the cached claims of the token that signature belongs to, which
   * its holder already had, and nothing more.
   */
  return async function verifyCached(token: string): Promise<AccessTokenClaims> {
    const key = token.slice(token.lastIndexOf('.') + 1);
    const hit = key.length >= 43 ? verified.get(key) : undefined;
    if (hit) return hit;
    const claims = await verify(token);
    verified.set(key, claims, (claims.exp ?? 0) * 1000);
    return claims;
  };
}
