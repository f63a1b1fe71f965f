/**
 * Forward auth for nginx `auth_request` (and Caddy/Traefik forward auth), with oauth2-proxy's
 * paths and semantics so that existing nginx snippets keep working:
 *
 * - `GET /oauth2/auth`: 202 + `X-Auth-Request-*` when the cookie or a Bearer token is valid, 401
 *   when not signed in, 403 when signed in but not allowed for this host. Never redirects. The
 *   hot path verifies the cookie's JWT locally, with a bounded cache of verified tokens: no store
 *   round trip. An expired cookie JWT is refreshed transparently (the new cookie comes with the
 *   202; nginx passes it on with `auth_request_set` + `add_header Set-Cookie`).
 * - `GET /oauth2/start?rd=`, `/oauth2/callback`: authorization code + PKCE against the gateway's
 *   own OpenID Provider (in process), so one SSO session serves every app and every domain.
 * - `GET /oauth2/sign_in`: where nginx sends a 401 (`error_page 401 = /oauth2/sign_in`): a
 *   redirect to start for browsers, a JSON 401 for API callers.
 * - `GET /oauth2/sign_out?rd=`: ends the SSO session and every domain's forward-auth cookie.
 * - `GET /oauth2/userinfo`: the signed-in user as JSON, 401 if none.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { errors as joseErrors } from 'jose';
import * as client from 'openid-client';
import proxyaddr from 'proxy-addr';
import type { Config } from '../../config/config-type.ts';
import type { Store } from '../../adapters/store.ts';
import { withLock } from '../../adapters/with-lock.ts';
import { GatewayError, sendError, sendProblem } from '../errors.ts';
import type { AccessTokenClaims, AccessTokenVerifier } from '../keys/access-token-verifier.ts';
import { escapeHtml, layout } from '../pages/layout.ts';
import { messagesFor } from '../pages/i18n.ts';
import { BoundedCache } from './bounded-cache.ts';
import { cookieDomainFor } from './domain-match.ts';
import { FORWARD_AUTH_CALLBACK_PATH, FORWARD_AUTH_CLIENT_ID, forwardAuthRedirectAllowed } from './forward-auth-client.ts';
import type { ForwardAuthSessions } from './forward-auth-sessions.ts';
import type { HostPolicy } from './host-policy.ts';
import type { HostTokenMinter } from './host-token-minter.ts';
import { safeRedirect } from './safe-redirect.ts';

/** The forward-auth cookie: `<gateway access JWT>~<server-side session id>`. */
export const FORWARD_AUTH_COOKIE = '_gateway_auth';
const TX_COOKIE_PREFIX = '_gateway_auth_tx_';

export interface ForwardAuthDeps {
  config: Config;
  store: Store;
  sessions: ForwardAuthSessions;
  verify: AccessTokenVerifier;
  mintHostToken: HostTokenMinter;
  policy: HostPolicy;
  /** openid-client configuration of the forward-auth client (in-process transport). */
  oidcClient: () => Promise<client.Configuration>;
  /** Is this SSO session (its uid) signed out? Local, no store round trip. */
  isRevoked: (sid: string | undefined) => boolean;
  /** Ends an SSO session everywhere (OP session, grants, forward-auth sessions). */
  endSsoSession: (sid: string) => Promise<void>;
}

function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)$/i.exec(header ?? '');
  return match?.[1];
}

function audiences(claims: AccessTokenClaims): string[] {
  return Array.isArray(claims.aud) ? claims.aud : claims.aud === undefined ? [] : [claims.aud];
}

export function forwardAuthRoutes(deps: ForwardAuthDeps) {
  const { config } = deps;
  const trust = proxyaddr.compile([...config.trustedProxies]);
  const verified = new BoundedCache<AccessTokenClaims>(100_000);
  const redirectDomains = [...config.redirectDomains, ...config.cookieDomains.map((d) => (d.startsWith('.') ? d : `.${d}`))];

  /** Headers only a trusted proxy may set (X-Forwarded-Uri, X-Original-URI, X-Auth-Request-Redirect). */
  function trustedHeader(request: FastifyRequest, name: string): string | undefined {
    const peer = request.raw.socket.remoteAddress;
    if (!peer || !trust(peer, 0)) return undefined;
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  }

  const originOf = (request: FastifyRequest) => `${request.protocol}://${request.host}`;

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


  function setAuthCookie(request: FastifyRequest, reply: FastifyReply, value: string) {
    const domain = cookieDomainFor(request.hostname, config.cookieDomains);
    reply.setCookie(FORWARD_AUTH_COOKIE, value, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: request.protocol === 'https',
      maxAge: config.ttl.session,
      ...(domain ? { domain } : {}),
    });
  }

  function clearAuthCookie(request: FastifyRequest, reply: FastifyReply) {
    const domain = cookieDomainFor(request.hostname, config.cookieDomains);
    reply.clearCookie(FORWARD_AUTH_COOKIE, { path: '/', ...(domain ? { domain } : {}) });
  }

  /** Exchanges the session's refresh token for a new cookie JWT, once even under parallel checks. */
  async function refreshCookie(sessionId: string, expiredToken: string): Promise<{ claims: AccessTokenClaims; value: string } | undefined> {
    return withLock(deps.store, `lock:fa-refresh:${sessionId}`, async () => {
      const session = await deps.sessions.load(sessionId);
      if (!session) return undefined;
      if (session.accessToken !== expiredToken) {
        const claims = await verifyCached(session.accessToken).catch(() => undefined);
        if (claims) return { claims, value: `${session.accessToken}~${sessionId}` };
      }
      let tokens;
      try {
        tokens = await client.refreshTokenGrant(await deps.oidcClient(), session.refreshToken);
      } catch {
        // invalid_grant: the grant was revoked or expired; the session is over.
        await deps.sessions.remove(sessionId);
        return undefined;
      }
      const claims = await verifyCached(tokens.access_token);
      await deps.sessions.update(sessionId, {
        ...session,
        accessToken: tokens.access_token,
        refreshToken: tokens.refresh_token ?? session.refreshToken,
      });
      return { claims, value: `${tokens.access_token}~${sessionId}` };
    }, { waitMs: 5_000 });
  }

  /** The identity behind the request's cookie, refreshing an expired cookie JWT. */
  async function cookieIdentity(request: FastifyRequest, reply: FastifyReply): Promise<AccessTokenClaims | undefined> {
    const cookie = request.cookies[FORWARD_AUTH_COOKIE];
    if (!cookie) return undefined;
    const separator = cookie.lastIndexOf('~');
    if (separator <= 0) return undefined;
    const token = cookie.slice(0, separator);
    const sessionId = cookie.slice(separator + 1);
    let claims: AccessTokenClaims | undefined;
    try {
      claims = await verifyCached(token);
    } catch (error) {
      if (!(error instanceof joseErrors.JWTExpired)) return undefined;
      const refreshed = await refreshCookie(sessionId, token);
      if (!refreshed) {
        clearAuthCookie(request, reply);
        return undefined;
      }
      setAuthCookie(request, reply, refreshed.value);
      claims = refreshed.claims;
    }
    if (!audiences(claims).includes(FORWARD_AUTH_CLIENT_ID) || deps.isRevoked(claims['session_uid'] as string | undefined)) return undefined;
    return claims;
  }

  /** A Bearer token is accepted when its audience is this host (origin or host name) or the gateway's own forward-auth client. */
  async function bearerIdentity(request: FastifyRequest, token: string): Promise<AccessTokenClaims | undefined> {
    const claims = await verifyCached(token).catch(() => undefined);
    if (!claims || deps.isRevoked(claims['session_uid'] as string | undefined)) return undefined;
    const accepted = [originOf(request), request.hostname];
    return audiences(claims).some((aud) => accepted.includes(aud)) ? claims : undefined;
  }

  function unauthorized(reply: FastifyReply) {
    return sendProblem(reply, 401, 'unauthorized', 'Sign in first.');
  }

  return async function routes(app: FastifyInstance) {
    app.get('/oauth2/auth', async (request, reply) => {
      const bearer = bearerToken(request.headers.authorization);
      const claims = bearer ? await bearerIdentity(request, bearer) : await cookieIdentity(request, reply);
      if (!claims) return unauthorized(reply);
      // Typed at the door: a well-signed token with odd claims is refused or ignored, never a 500.
      const email = typeof claims['email'] === 'string' ? claims['email'] : undefined;
      const groups = Array.isArray(claims['groups']) ? (claims['groups'] as unknown[]).filter((g): g is string => typeof g === 'string') : [];
      if (!deps.policy.allows(request.hostname, { email, groups })) {
        return sendProblem(reply, 403, 'forbidden', 'You are signed in, but not allowed here.');
      }
      reply.header('x-auth-request-user', claims.sub);
      if (email) reply.header('x-auth-request-email', email);
      const username = claims['preferred_username'];
      if (typeof username === 'string') reply.header('x-auth-request-preferred-username', username);
      if (groups.length > 0) reply.header('x-auth-request-groups', groups.join(','));
      reply.header('x-auth-request-access-token', await deps.mintHostToken(claims, originOf(request)));
      return reply.code(202).send();
    });

    app.get('/oauth2/sign_in', async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const original = query['rd'] ?? trustedHeader(request, 'x-auth-request-redirect') ?? trustedHeader(request, 'x-original-uri') ?? trustedHeader(request, 'x-forwarded-uri');
      const origin = originOf(request);
      const rd = safeRedirect(original, { origin, allowedDomains: redirectDomains });
      const path = rd.startsWith('/') ? rd : new URL(rd).pathname;
      const api = (request.headers.accept ?? '').includes('application/json') || config.apiPaths.some((prefix) => path.startsWith(prefix));
      if (api) return sendProblem(reply, 401, 'unauthorized', 'Sign in first: send a Bearer access token, or sign in in a browser.');
      const start = `/oauth2/start?rd=${encodeURIComponent(rd)}`;
      const t = messagesFor(request.headers['accept-language']);
      // A redirect for `error_page 401 = /oauth2/sign_in`; nginx's documented `=403` variant keeps
      // only the body, so the page moves on by itself too (meta refresh needs no script).
      return reply
        .code(302)
        .header('location', start)
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(
          layout({
            lang: t.lang,
            brand: t.brand,
            title: t.signInTitle,
            body: `<meta http-equiv="refresh" content="0;url=${escapeHtml(start)}">\n<h1>${escapeHtml(t.signInTitle)}</h1>\n<p><a class="button" href="${escapeHtml(start)}">${escapeHtml(t.signInButton)}</a></p>`,
          }),
        );
    });

    app.get('/oauth2/start', async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const origin = originOf(request);
      const rd = safeRedirect(query['rd'] ?? trustedHeader(request, 'x-auth-request-redirect'), { origin, allowedDomains: redirectDomains });
      const redirectUri = `${origin}${FORWARD_AUTH_CALLBACK_PATH}`;
      if (!forwardAuthRedirectAllowed(redirectUri, config.issuer, redirectDomains)) {
        throw new GatewayError('invalid_request', 400, `Forward auth is not configured for ${request.hostname}: add it to GATEWAY_COOKIE_DOMAINS or GATEWAY_REDIRECT_DOMAINS.`);
      }
      const state = client.randomState();
      const nonce = client.randomNonce();
      const verifier = client.randomPKCECodeVerifier();
      const url = client.buildAuthorizationUrl(await deps.oidcClient(), {
        redirect_uri: redirectUri,
        scope: 'openid email profile',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
        nonce,
      });
      // One cookie per attempt (named after the state), so sign-ins in parallel tabs do not collide.
      reply.setCookie(`${TX_COOKIE_PREFIX}${state.slice(0, 12)}`, JSON.stringify({ state, nonce, verifier, rd }), {
        path: FORWARD_AUTH_CALLBACK_PATH,
        httpOnly: true,
        sameSite: 'lax',
        secure: request.protocol === 'https',
        maxAge: 600,
        signed: true,
      });
      return reply.header('cache-control', 'no-store').redirect(url.href, 302);
    });

    app.get(FORWARD_AUTH_CALLBACK_PATH, async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      // The state names the transaction cookie; anything but what randomState() makes (base64url)
      // is no state of ours, and could not name a cookie (found by tests/fuzz.test.ts).
      const state = /^[\w-]{1,256}$/.test(query['state'] ?? '') ? (query['state'] ?? '') : '';
      const name = `${TX_COOKIE_PREFIX}${state.slice(0, 12)}`;
      const raw = state ? request.cookies[name] : undefined;
      const unsigned = raw ? request.unsignCookie(raw) : undefined;
      if (state) reply.clearCookie(name, { path: FORWARD_AUTH_CALLBACK_PATH });
      let tx: { state: string; nonce: string; verifier: string; rd: string } | undefined;
      try {
        tx = unsigned?.valid && unsigned.value ? JSON.parse(unsigned.value) : undefined;
      } catch {
        tx = undefined;
      }
      if (!tx || tx.state !== state) {
        return sendError(request, reply, new GatewayError('invalid_request', 400, 'This sign-in does not belong to this browser or has expired. Please start again.'));
      }
      if (query['error']) {
        return sendError(request, reply, new GatewayError('access_denied', 403, query['error_description'] ?? 'The sign-in was refused.'));
      }
      const origin = originOf(request);
      let tokens;
      try {
        tokens = await client.authorizationCodeGrant(await deps.oidcClient(), new URL(request.url, origin), {
          pkceCodeVerifier: tx.verifier,
          expectedState: tx.state,
          expectedNonce: tx.nonce,
          idTokenExpected: true,
        });
      } catch (error) {
        request.log.info({ code: (error as { code?: string }).code }, 'forward-auth code exchange refused');
        return sendError(request, reply, new GatewayError('invalid_request', 400, 'This sign-in could not be completed. Please start again.'));
      }
      const accessClaims = await verifyCached(tokens.access_token).catch(() => undefined);
      if (!accessClaims || !tokens.refresh_token) {
        return sendError(request, reply, new GatewayError('server_error', 502, 'The sign-in answer was incomplete. Please start again.'));
      }
      const sessionUid = accessClaims['session_uid'];
      const sessionId = await deps.sessions.create({
        sub: accessClaims.sub,
        sid: typeof sessionUid === 'string' ? sessionUid : undefined,
        refreshToken: tokens.refresh_token,
        accessToken: tokens.access_token,
      });
      setAuthCookie(request, reply, `${tokens.access_token}~${sessionId}`);
      return reply.header('cache-control', 'no-store').redirect(safeRedirect(tx.rd, { origin, allowedDomains: redirectDomains }), 302);
    });

    app.get('/oauth2/sign_out', async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const origin = originOf(request);
      const rd = safeRedirect(query['rd'] ?? trustedHeader(request, 'x-auth-request-redirect'), { origin, allowedDomains: redirectDomains });
      const cookie = request.cookies[FORWARD_AUTH_COOKIE];
      if (cookie) {
        const separator = cookie.lastIndexOf('~');
        const sessionId = separator > 0 ? cookie.slice(separator + 1) : '';
        const session = sessionId ? await deps.sessions.load(sessionId) : undefined;
        const claims = await verifyCached(cookie.slice(0, Math.max(separator, 0))).catch(() => undefined);
        const sessionUid = session?.sid ?? (claims?.['session_uid'] as string | undefined);
        if (sessionUid) await deps.endSsoSession(sessionUid);
        if (sessionId) await deps.sessions.remove(sessionId);
      }
      clearAuthCookie(request, reply);
      return reply.header('cache-control', 'no-store').redirect(rd, 302);
    });

    app.get('/oauth2/userinfo', async (request, reply) => {
      const bearer = bearerToken(request.headers.authorization);
      const claims = bearer ? await bearerIdentity(request, bearer) : await cookieIdentity(request, reply);
      if (!claims) return unauthorized(reply);
      return reply.header('cache-control', 'no-store').send({
        user: claims.sub,
        email: claims['email'],
        preferredUsername: claims['preferred_username'],
        groups: claims['groups'] ?? [],
      });
    });
  };
}
