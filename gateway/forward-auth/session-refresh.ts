/**
 * Renews an expired forward-auth cookie JWT with its session's refresh token, once even under
 * parallel checks (a lock per session in the store), and only for that session's own cookie.
 *
 * A page's parallel checks, and every check its browser sends before it has stored the new
 * cookie, present the same expired one. On one instance they share the refresh in flight and then
 * its answer for a short while (as the store path would give them: the session's previous token
 * maps to its current one), instead of each taking the store lock in turn: 50 connections sending
 * an expired cookie once queued on that lock until some waited past its 5 s and got a 503.
 */
import { inSpan } from '../ops/tracing.ts';
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { Store } from '../../adapters/store.ts';
import { withLock } from '../../adapters/with-lock.ts';
import { BoundedCache } from '../web/bounded-cache.ts';
import { GatewayError } from '../web/errors.ts';
import type { AccessTokenClaims } from '../keys/access-token-verifier.ts';
import type { ForwardAuthSessions } from '../sessions/forward-auth-sessions.ts';
import type { AuthCookie } from './forward-auth-cookie.ts';
import { isSessionToken } from './own-session-token.ts';
import type { VerifyCached } from './verify-cache.ts';

export interface SessionRefreshDeps {
  store: Store;
  sessions: ForwardAuthSessions;
  /** openid-client configuration of the forward-auth client (in-process transport). */
  oidcClient: () => Promise<client.Configuration>;
  verifyCached: VerifyCached;
  /** Is this SSO session (its uid) signed out? Local, no store round trip. */
  isRevoked: (sid: string | undefined) => boolean;
}

interface Refreshed {
  claims: AccessTokenClaims;
  token: string;
}

/** The renewed cookie JWT and its claims; undefined when the session is over (or not this cookie's). */
export type SessionRefresh = (cookie: AuthCookie) => Promise<Refreshed | undefined>;

/**
 * How long an answer is shared with later checks of the cookie it replaced. A browser stores the
 * new cookie with the first answer; this covers the checks it already had under way, and it is
 * well below the renewed token's own lifetime, so no answer outlives the session's next refresh.
 */
const SHARED_MS = 10_000;

function isInvalidGrant(error: unknown): boolean {
  return error instanceof client.ResponseBodyError && error.error === 'invalid_grant';
}

export function createSessionRefresh(deps: SessionRefreshDeps): SessionRefresh {
  const { verifyCached } = deps;
  // Keyed by the session id and the expired token's signature: only that pair, which the store
  // path accepted, gets the answer again.
  const recent = new BoundedCache<Refreshed>(10_000);
  const inFlight = new Map<string, Promise<Refreshed | undefined>>();

  return async function refreshCookie(cookie) {
    const key = `${cookie.sessionId}\n${cookie.token.slice(cookie.token.lastIndexOf('.') + 1)}`;
    const shared = recent.get(key);
    if (shared && !deps.isRevoked(shared.claims['session_uid'] as string | undefined)) return shared;
    let pending = inFlight.get(key);
    if (!pending) {
      // A span of its own when tracing is on: the check around it has none (ops/tracing.ts).
      pending = inSpan('forward_auth.refresh', {}, () => refreshUnderLock(cookie)).finally(() => inFlight.delete(key));
      inFlight.set(key, pending);
    }
    const refreshed = await pending;
    if (refreshed) recent.set(key, refreshed, Math.min(Date.now() + SHARED_MS, (refreshed.claims.exp ?? 0) * 1000));
    return refreshed;
  };

  /**
   * Exchanges the session's refresh token for a new cookie JWT, once even under parallel checks.
   * Only the session's own cookie JWT may ask (a valid token of another session, or of an app,
   * with this session's id refreshes nothing). Only `invalid_grant` ends the session: a store
   * outage or a failed call is temporary, answered 503, and the next check tries again. An
   * instance killed between the answer and `sessions.update` costs nothing either: the refresh
   * token is not rotated (create-provider.ts), so the session still holds a working one, and the
   * lock is a lease its dead holder frees within 3 s.
   */
  async function refreshUnderLock(cookie: AuthCookie): Promise<Refreshed | undefined> {
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
}
