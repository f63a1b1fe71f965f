/**
 * Who is behind a forward-auth request: the cookie's gateway JWT, or a Bearer token made for this
 * host. The hot path verifies locally, with a bounded cache of verified tokens (verify-cache.ts):
 * no store round trip. An expired cookie JWT is refreshed with the session's refresh token
 * (session-refresh.ts), once even under parallel checks, and only by that session's own cookie.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { errors as joseErrors } from 'jose';
import type * as client from 'openid-client';
import type { Store } from '../../adapters/store.ts';
import { sendProblem } from '../web/errors.ts';
import type { AccessTokenClaims, AccessTokenVerifier } from '../keys/access-token-verifier.ts';
import { bearerToken } from '../web/bearer-token.ts';
import type { ForwardAuthCookies } from './forward-auth-cookie.ts';
import { FORWARD_AUTH_CLIENT_ID } from '../provider/forward-auth-client.ts';
import type { ForwardAuthSessions } from '../sessions/forward-auth-sessions.ts';
import { createSessionRefresh } from './session-refresh.ts';
import { createVerifyCache, type VerifyCached } from './verify-cache.ts';

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

export interface IdentityResolver {
  /** Verifies a gateway access JWT, cached until it expires (verify-cache.ts). */
  verifyCached: VerifyCached;
  /** The identity of a forward-auth request: its Bearer token if it sends one, else its cookie. */
  identify(request: FastifyRequest, reply: FastifyReply): Promise<AccessTokenClaims | undefined>;
  /** True when `identify` refreshed this request's cookie (its reply carries a new cookie). */
  refreshed(request: FastifyRequest): boolean;
}

/** The answer to a request with no identity (`/oauth2/auth`, `/oauth2/userinfo`). */
export const unauthorized = (reply: FastifyReply) => sendProblem(reply, 401, 'unauthorized', 'Sign in first.');

function audiences(claims: AccessTokenClaims): string[] {
  return Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
}

export function createIdentityResolver(deps: IdentityDeps): IdentityResolver {
  const verifyCached = createVerifyCache(deps.verify);
  const refreshCookie = createSessionRefresh({ ...deps, verifyCached });
  // Per request, not per claims: the refreshed claims are the verify cache's, shared by later checks.
  const refreshedRequests = new WeakSet<FastifyRequest>();

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
      refreshedRequests.add(request);
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
    identify(request, reply) {
      const bearer = bearerToken(request.headers.authorization);
      return bearer ? bearerIdentity(request, bearer) : cookieIdentity(request, reply);
    },
    refreshed: (request) => refreshedRequests.has(request),
  };
}
