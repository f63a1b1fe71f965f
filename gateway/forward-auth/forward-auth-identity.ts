/**
 * Who is behind a forward-auth request: the cookie's gateway JWT, or a Bearer token made for this
 * host. The hot path verifies locally, with a bounded cache of verified tokens: no store round
 * trip. An expired cookie JWT is refreshed with the session's refresh token, once even under
 * parallel checks, and only by that session's own cookie.
 */
import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors as joseErrors } from 'jose';
import * as client from 'openid-client';
import type { Store } from '../../adapters/store.ts';
import { withLock } from '../../adapters/with-lock.ts';
import { GatewayError } from '../web/errors.ts';
import type { AccessTokenClaims, AccessTokenVerifier } from '../keys/access-token-verifier.ts';
import { bearerToken } from '../web/bearer-token.ts';
import { BoundedCache } from '../web/bounded-cache.ts';
import type { AuthCookie, ForwardAuthCookies } from './forward-auth-cookie.ts';
import { FORWARD_AUTH_CLIENT_ID } from '../provider/forward-auth-client.ts';
import type { ForwardAuthSession, ForwardAuthSessions } from '../sessions/forward-auth-sessions.ts';

export interface IdentityDeps {
  store: Store;
  sessions: ForwardAuthSessions;
  cookies: ForwardAuthCookies;
  verify: AccessTokenVerifier;
  /** openid-client configuration of the forward-auth client (in-process transport). */
  oidcClient: () => Promise<client.Configuration>;
  /** Is this SSO session (its uid) signed out? Local, no store round trip. */
  isRevoked: (sid: string | undefined) => boolean;
  /** `scheme://host` of the request, as the trusted proxy served it. */
  originOf: (request: FastifyRequest) => string;
}

function audiences(claims: AccessTokenClaims): string[] {
  return Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
}

/** True when `token` is the session's own cookie JWT: the current one, or the one it just replaced. */
export function isSessionToken(session: ForwardAuthSession, token: string): boolean {
  return (
    token === session.accessToken ||
    (session.previousAccessToken !== undefined && token === session.previousAccessToken)
  );
}

function isInvalidGrant(error: unknown): boolean {
  return error instanceof client.ResponseBodyError && error.error === 'invalid_grant';
}

export function createIdentityResolver(deps: IdentityDeps) {
  const verified = new BoundedCache<AccessTokenClaims>(100_000);

  /**
   * Signature, iss, typ and exp, cached until the token expires. The cache is keyed by the JWS
   * signature alone (86 characters instead of the whole ~800-character token, hashed on every
   * check): a token whose header or payload was changed under a cached signature gets the cached
   * claims of the token that signature belongs to, which its holder already had, and nothing more.
   */
  async function verifyCached(token: string): Promise<AccessTokenClaims> {
    const key = token.slice(token.lastIndexOf('.') + 1);
    const hit = key.length >= 43 ? verified.get(key) : undefined;
    if (hit) return hit;
    const claims = await deps.verify(token);
    verified.set(key, claims, (claims.exp ?? 0) * 1000);
    return claims;
  }

  /**
   * Exchanges the session's refresh token for a new cookie JWT, once even under parallel checks.
   * Only the session's own cookie JWT may ask (a valid token of another session, or of an app,
   * with this session's id refreshes nothing). Only `invalid_grant` ends the session: a store
   * outage or a failed call is temporary, answered 503, and the next check tries again. An
   * instance killed between the answer and `sessions.update` costs nothing either: the refresh
   * token is not rotated (create-provider.ts), so the session still holds a working one, and the
   * lock is a lease its dead holder frees within 3 s.
   */
  async function refreshCookie(cookie: AuthCookie): Promise<{ claims: AccessTokenClaims; token: string } | undefined> {
    const lockKey = `lock:fa-refresh:${createHash('sha256').update(cookie.sessionId).digest('base64url')}`;
    return withLock(
      deps.store,
      lockKey,
      async () => {
        const session = await deps.sessions.load(cookie.sessionId);
        if (!session || !isSessionToken(session, cookie.token)) return undefined;
        if (session.accessToken !== cookie.token) {
          // Another check refreshed it a moment ago: use that token.
          const claims = await verifyCached(session.accessToken).catch(() => undefined);
          if (claims) return { claims, token: session.accessToken };
        }
        let tokens;
        try {
          tokens = await client.refreshTokenGrant(await deps.oidcClient(), session.refreshToken);
        } catch (error) {
          if (!isInvalidGrant(error)) {
            throw new GatewayError(
              'temporarily_unavailable',
              503,
              'The sign-in could not be renewed just now. Please try again in a moment.',
              { cause: error },
            );
          }
          // The grant was revoked or has expired: the session is over.
          await deps.sessions.remove(cookie.sessionId);
          return undefined;
        }
        const claims = await verifyCached(tokens.access_token);
        await deps.sessions.update(cookie.sessionId, {
          ...session,
          accessToken: tokens.access_token,
          previousAccessToken: session.accessToken,
          refreshToken: tokens.refresh_token ?? session.refreshToken,
        });
        return { claims, token: tokens.access_token };
      },
      { waitMs: 5_000 },
    );
  }

  /** The identity behind the request's cookie, refreshing an expired cookie JWT (the new cookie goes on `reply`). */
  async function cookieIdentity(request: FastifyRequest, reply: FastifyReply): Promise<AccessTokenClaims | undefined> {
    const cookie = deps.cookies.read(request);
    if (!cookie) return undefined;
    let claims: AccessTokenClaims | undefined;
    try {
      claims = await verifyCached(cookie.token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWTExpired)) return undefined;
      const refreshed = await refreshCookie(cookie);
      if (!refreshed) {
        deps.cookies.clear(request, reply);
        return undefined;
      }
      deps.cookies.set(request, reply, { token: refreshed.token, sessionId: cookie.sessionId });
      claims = refreshed.claims;
    }
    if (
      !audiences(claims).includes(FORWARD_AUTH_CLIENT_ID) ||
      deps.isRevoked(claims['session_uid'] as string | undefined)
    )
      return undefined;
    return claims;
  }

  /** A Bearer token is accepted when its audience is this host (origin or host name). */
  async function bearerIdentity(request: FastifyRequest, token: string): Promise<AccessTokenClaims | undefined> {
    const claims = await verifyCached(token).catch(() => undefined);
    if (!claims || deps.isRevoked(claims['session_uid'] as string | undefined)) return undefined;
    const accepted = [deps.originOf(request), request.hostname];
    return audiences(claims).some((aud) => accepted.includes(aud)) ? claims : undefined;
  }

  return {
    verifyCached,
    /** The identity of a forward-auth request: its Bearer token if it sends one, else its cookie. */
    identify(request: FastifyRequest, reply: FastifyReply): Promise<AccessTokenClaims | undefined> {
      const bearer = bearerToken(request.headers.authorization);
      return bearer ? bearerIdentity(request, bearer) : cookieIdentity(request, reply);
    },
  };
}
