/**
 * `X-Auth-Request-Access-Token`: a gateway JWT (RFC 9068) whose audience is the protected host,
 * so the app behind nginx can verify who the user is offline, with the gateway's JWKS, instead of
 * trusting a plain header. Minted from the already verified cookie or bearer token (same subject,
 * same expiry, at most), and cached per (token, host) so the hot path signs once per token.
 */
import { importJWK, SignJWT, type CryptoKey } from 'jose';
import { GRANT_ID_CLAIM, GRANT_TYPE_CLAIM, type AccessTokenClaims } from '../keys/access-token-verifier.ts';
import type { PrivateJwk } from '../keys/signing-keys.ts';
import { BoundedCache } from '../web/bounded-cache.ts';

// The grant too, so the app's resource server can introspect the token (RFC 7662) and learn
// when the user's sign-in has ended; and `amr`, which names the upstream of the sign-in (for the
// app, and for a host rule's allowed_upstreams when the token comes back as a Bearer token).
const COPIED_CLAIMS = [
  'amr',
  'email',
  'email_verified',
  'preferred_username',
  'name',
  'groups',
  'session_uid',
  'scope',
  GRANT_ID_CLAIM,
  // A machine's (client credentials): the app must see that its `sub` is a client, not a user.
  GRANT_TYPE_CLAIM,
] as const;

export type HostTokenMinter = (claims: AccessTokenClaims, audience: string) => Promise<string>;

/** `key()` is the key that signs access tokens now (it changes with a rotation). */
export function createHostTokenMinter(issuer: string, key: () => PrivateJwk, clientId: string): HostTokenMinter {
  const imported = new Map<string, Promise<CryptoKey | Uint8Array>>();
  const cache = new BoundedCache<string>(50_000);
  return async (claims, audience) => {
    const cacheKey = `${claims.jti ?? claims.sub}|${claims.exp}|${audience}`;
    const cached = cache.get(cacheKey);
    if (cached) return cached;
    const jwk = key();
    let signingKey = imported.get(jwk.kid);
    if (!signingKey) {
      signingKey = importJWK(jwk, jwk.alg);
      imported.set(jwk.kid, signingKey);
    }
    const payload: Record<string, unknown> = { client_id: clientId };
    for (const name of COPIED_CLAIMS) if (claims[name] !== undefined) payload[name] = claims[name];
    const exp = claims.exp ?? Math.floor(Date.now() / 1000) + 60;
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'at+jwt' })
      .setIssuer(issuer)
      .setSubject(claims.sub)
      .setAudience(audience)
      .setIssuedAt()
      .setExpirationTime(exp)
      .setJti(crypto.randomUUID())
      .sign(await signingKey);
    cache.set(cacheKey, token, exp * 1000);
    return token;
  };
}
