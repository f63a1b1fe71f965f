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
import * as client from 'openid-client';
import proxyaddr from 'proxy-addr';
import type { Config } from '../../config/config-type.ts';
import type { Store } from '../../adapters/store.ts';
import { GatewayError, sendError, sendProblem } from '../web/errors.ts';
import type { AccessTokenVerifier } from '../keys/access-token-verifier.ts';
import { CSRF_FIELD, type CsrfGuard } from '../web/csrf.ts';
import { escapeHtml, layout } from '../web/pages/layout.ts';
import { messagesFor } from '../web/pages/i18n.ts';
import { renderSignOutPage } from '../web/pages/sign-out-page.ts';
import { createQueryPolicies } from './auth-query-policy.ts';
import { BoundedCache } from '../web/bounded-cache.ts';
import { forwardAuthCookies, securePathCookieName } from './forward-auth-cookie.ts';
import { FORWARD_AUTH_CALLBACK_PATH, forwardAuthRedirectAllowed } from '../provider/forward-auth-client.ts';
import { createIdentityResolver, isSessionToken } from './forward-auth-identity.ts';
import type { ForwardAuthSessions } from '../sessions/forward-auth-sessions.ts';
import type { HostPolicy } from '../accounts/host-policy.ts';
import type { HostTokenMinter } from './host-token-minter.ts';
import { safeRedirect } from './safe-redirect.ts';

const TX_COOKIE_PREFIX = '_gateway_auth_tx_';
const SIGN_OUT_PATH = '/oauth2/sign_out';

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
  /** Ends an SSO session everywhere: the gateway's one sign-out (sessions/sign-out.ts). */
  endSsoSession: (sid: string) => Promise<void>;
  /** CSRF tokens of the sign-out confirmation form. */
  csrf: CsrfGuard;
  /** The gateway's secrets (newest first): they bind each cookie to its domain. */
  secrets: readonly string[];
  /** Counts one answer of `/oauth2/auth`, under its route pattern (it has no metrics hook: it is a hot path). */
  recordCheck?: (route: string, status: number, ms: number) => void;
  /** Counts a callback that carried this browser's sign-in cookie but not its state against the caller's address. */
  countFailure?: (request: FastifyRequest) => Promise<unknown>;
}

interface SignInTransaction {
  state: string;
  nonce: string;
  verifier: string;
  rd: string;
  /** The callback this sign-in was started for: the code is redeemed there or nowhere. */
  redirectUri: string;
}

/** The query string of a raw URL, without `?`. */
function queryOf(url: string): string {
  const mark = url.indexOf('?');
  return mark === -1 ? '' : url.slice(mark + 1);
}

/** Fetch Metadata (`Sec-Fetch-Site`): the browser says the request came from this site, or from the person. */
function sameSiteNavigation(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  return site === 'same-origin' || site === 'same-site' || site === 'none';
}

/** Allows `limit` events per minute (a fixed window), to bound a log line an outsider can cause. */
function perMinute(limit: number): { allow(): boolean } {
  let windowStart = 0;
  let count = 0;
  return {
    allow() {
      const now = Date.now();
      if (now - windowStart >= 60_000) {
        windowStart = now;
        count = 0;
      }
      count += 1;
      return count <= limit;
    },
  };
}

export function forwardAuthRoutes(deps: ForwardAuthDeps) {
  const { config } = deps;
  const trust = proxyaddr.compile([...config.trustedProxies]);
  const redirectDomains = [
    ...config.redirectDomains,
    ...config.cookieDomains.map((d) => (d.startsWith('.') ? d : `.${d}`)),
  ];
  // Scheme and cookie flags follow the issuer, never the request: behind a TLS-terminating proxy
  // the gateway may be reached over http, and a client outside the trusted proxies must not be
  // able to make it hand out non-Secure cookies or http callbacks.
  const scheme = new URL(config.issuer).protocol.slice(0, -1);
  const secure = scheme === 'https';
  const cookies = forwardAuthCookies({
    secure,
    cookieDomains: config.cookieDomains,
    maxAgeSeconds: config.ttl.session,
    secrets: deps.secrets,
  });
  /** The origin the trusted proxy served: the issuer's scheme and the request's host (X-Forwarded-Host only from a trusted proxy). */
  const originOf = (request: FastifyRequest) => `${scheme}://${request.host}`;
  const identities = createIdentityResolver({ ...deps, cookies, originOf });

  /** Headers only a trusted proxy may set (X-Forwarded-Uri, X-Original-URI, X-Auth-Request-Redirect). */
  function trustedHeader(request: FastifyRequest, name: string): string | undefined {
    const peer = request.raw.socket.remoteAddress;
    if (!peer || !trust(peer, 0)) return undefined;
    const value = request.headers[name];
    return typeof value === 'string' ? value : undefined;
  }

  const forbidden = (reply: FastifyReply) =>
    sendProblem(reply, 403, 'forbidden', 'You are signed in, but not allowed here.');

  /**
   * Forward auth answers only for hosts it is configured for (the issuer's, or within the cookie
   * and redirect domains), as sign-in does: a check for any other `Host` (a typo, nginx's default
   * server, `evil.com`) is refused instead of judged by no rule and answered with a token for it.
   * Decided once per distinct host.
   */
  const servedHosts = new BoundedCache<boolean>(10_000);
  const refusedHostWarnings = perMinute(10);
  const isServedHost = (request: FastifyRequest): boolean => {
    const host = request.host;
    let known = servedHosts.get(host);
    if (known === undefined) {
      known = forwardAuthRedirectAllowed(
        `${scheme}://${host}${FORWARD_AUTH_CALLBACK_PATH}`,
        config.issuer,
        redirectDomains,
      );
      servedHosts.set(host, known, Number.MAX_SAFE_INTEGER);
      // nginx answers a refused check with its own bare 403 page: the log is where an operator
      // learns why. Once per host, and at most a few hosts a minute: a client inventing a new
      // Host on every request (through a catch-all server) must not turn this into a log flood.
      if (!known && refusedHostWarnings.allow())
        request.log.warn(
          { event: 'forward_auth_host_not_served', host: host.slice(0, 255) },
          'forward auth refused a host it does not serve: add it to GATEWAY_COOKIE_DOMAINS or GATEWAY_REDIRECT_DOMAINS',
        );
    }
    return known;
  };
  const unauthorized = (reply: FastifyReply) => sendProblem(reply, 401, 'unauthorized', 'Sign in first.');

  /**
   * Ends the SSO session behind the request's cookie, then clears it. Only the forward-auth cookie
   * of that very session signs anyone out: an app's access token, or another session's token with
   * this session's id, ends nothing.
   */
  async function signOut(request: FastifyRequest, reply: FastifyReply, rd: string): Promise<FastifyReply> {
    const cookie = cookies.read(request);
    if (cookie) {
      const session = await deps.sessions.load(cookie.sessionId);
      if (session && isSessionToken(session, cookie.token)) {
        if (session.sid) await deps.endSsoSession(session.sid);
        await deps.sessions.remove(cookie.sessionId);
      }
    }
    cookies.clear(request, reply);
    return reply.header('cache-control', 'no-store').redirect(rd, 302);
  }

  return async function routes(app: FastifyInstance) {
    // Told once per distinct query string (the parsed policy is cached): an nginx snippet with a typo.
    const queryPolicies = createQueryPolicies((problem) =>
      app.log.warn({ problem }, 'forward auth refuses every user at /oauth2/auth with this query'),
    );
    // The sign-out confirmation form posts `csrf` and `rd`.
    app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string', bodyLimit: 4096 },
      (_req, body, done) => done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );

    // nginx asks this on every request: no hook runs on it but the cookie parser, and it counts
    // its own answers (gateway/ops/http-metrics.ts).
    // (The path is named once here: `request.routeOptions` builds a new object on every read.)
    const checkPath = '/oauth2/auth';
    app.get(checkPath, { config: { hotPath: true } }, async (request, reply) => {
      try {
        await check(request, reply);
      } catch (error) {
        deps.recordCheck?.(checkPath, error instanceof GatewayError ? error.status : 500, reply.elapsedTime);
        throw error;
      }
      deps.recordCheck?.(checkPath, reply.statusCode, reply.elapsedTime);
      return reply;
    });

    async function check(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
      if (!isServedHost(request))
        return sendProblem(reply, 403, 'forbidden', 'Forward auth is not configured for this host.');
      const claims = await identities.identify(request, reply);
      if (!claims) return unauthorized(reply);
      // Typed at the door: a well-signed token with odd claims is refused or ignored, never a 500.
      const email = typeof claims['email'] === 'string' ? claims['email'] : undefined;
      const groups = Array.isArray(claims['groups'])
        ? (claims['groups'] as unknown[]).filter((g): g is string => typeof g === 'string')
        : [];
      const identity = { email, groups };
      const restriction = queryPolicies(queryOf(request.url));
      if (!restriction.ok || !restriction.allows(identity) || !deps.policy.allows(request.hostname, identity))
        return forbidden(reply);
      reply.header('x-auth-request-user', claims.sub);
      if (email) reply.header('x-auth-request-email', email);
      const username = claims['preferred_username'];
      if (typeof username === 'string') reply.header('x-auth-request-preferred-username', username);
      if (groups.length > 0) reply.header('x-auth-request-groups', groups.join(','));
      reply.header('x-auth-request-access-token', await deps.mintHostToken(claims, originOf(request)));
      return reply.code(202).send();
    }

    app.get('/oauth2/sign_in', async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const original =
        query['rd'] ??
        trustedHeader(request, 'x-auth-request-redirect') ??
        trustedHeader(request, 'x-original-uri') ??
        trustedHeader(request, 'x-forwarded-uri');
      const origin = originOf(request);
      const rd = safeRedirect(original, { origin, allowedDomains: redirectDomains });
      const path = rd.startsWith('/') ? rd : new URL(rd).pathname;
      const api =
        (request.headers.accept ?? '').includes('application/json') ||
        config.apiPaths.some((prefix) => path.startsWith(prefix));
      if (api)
        return sendProblem(
          reply,
          401,
          'unauthorized',
          'Sign in first: send a Bearer access token, or sign in in a browser.',
        );
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

    app.get('/oauth2/start', { config: { regulation: 'refusable' } }, async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const origin = originOf(request);
      const rd = safeRedirect(query['rd'] ?? trustedHeader(request, 'x-auth-request-redirect'), {
        origin,
        allowedDomains: redirectDomains,
      });
      const redirectUri = `${origin}${FORWARD_AUTH_CALLBACK_PATH}`;
      if (!forwardAuthRedirectAllowed(redirectUri, config.issuer, redirectDomains)) {
        throw new GatewayError(
          'invalid_request',
          400,
          `Forward auth is not configured for ${request.hostname}: add it to GATEWAY_COOKIE_DOMAINS or GATEWAY_REDIRECT_DOMAINS.`,
        );
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
      const tx: SignInTransaction = { state, nonce, verifier, rd, redirectUri };
      // One cookie per attempt (named after the state), so sign-ins in parallel tabs do not collide.
      reply.setCookie(securePathCookieName(`${TX_COOKIE_PREFIX}${state.slice(0, 12)}`, secure), JSON.stringify(tx), {
        path: FORWARD_AUTH_CALLBACK_PATH,
        httpOnly: true,
        sameSite: 'lax',
        secure,
        maxAge: 600,
        signed: true,
      });
      return reply.header('cache-control', 'no-store').redirect(url.href, 302);
    });

    app.get(FORWARD_AUTH_CALLBACK_PATH, { config: { regulation: 'refusable' } }, async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      // The state names the transaction cookie; anything but what randomState() makes (base64url)
      // is no state of ours, and could not name a cookie (found by tests/fuzz.test.ts).
      const state = /^[\w-]{1,256}$/.test(query['state'] ?? '') ? (query['state'] ?? '') : '';
      const name = securePathCookieName(`${TX_COOKIE_PREFIX}${state.slice(0, 12)}`, secure);
      const raw = state ? request.cookies[name] : undefined;
      const unsigned = raw ? request.unsignCookie(raw) : undefined;
      if (state) reply.clearCookie(name, { path: FORWARD_AUTH_CALLBACK_PATH, secure });
      let tx: SignInTransaction | undefined;
      try {
        tx = unsigned?.valid && unsigned.value ? (JSON.parse(unsigned.value) as SignInTransaction) : undefined;
      } catch {
        tx = undefined;
      }
      const origin = originOf(request);
      // A code is redeemed only at the callback its sign-in was started for (RFC 9700 §4.5).
      if (!tx || tx.state !== state || tx.redirectUri !== `${origin}${FORWARD_AUTH_CALLBACK_PATH}`) {
        // Counted only when this browser's sign-in cookie came with it (tampered, replayed): a
        // cross-site `<img>` carries no cookie, and must not lock its visitor's address out.
        if (raw !== undefined) await deps.countFailure?.(request);
        return sendError(
          request,
          reply,
          new GatewayError(
            'invalid_request',
            400,
            'This sign-in does not belong to this browser or has expired. Please start again.',
          ),
        );
      }
      if (query['error']) {
        return sendError(
          request,
          reply,
          new GatewayError('access_denied', 403, query['error_description'] ?? 'The sign-in was refused.'),
        );
      }
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
        return sendError(
          request,
          reply,
          new GatewayError('invalid_request', 400, 'This sign-in could not be completed. Please start again.'),
        );
      }
      const accessClaims = await identities.verifyCached(tokens.access_token).catch(() => undefined);
      if (!accessClaims || !tokens.refresh_token) {
        return sendError(
          request,
          reply,
          new GatewayError('server_error', 502, 'The sign-in answer was incomplete. Please start again.'),
        );
      }
      const sessionUid = accessClaims['session_uid'];
      const sessionId = await deps.sessions.create({
        sub: accessClaims.sub,
        sid: typeof sessionUid === 'string' ? sessionUid : undefined,
        refreshToken: tokens.refresh_token,
        accessToken: tokens.access_token,
      });
      cookies.set(request, reply, { token: tokens.access_token, sessionId });
      return reply
        .header('cache-control', 'no-store')
        .redirect(safeRedirect(tx.rd, { origin, allowedDomains: redirectDomains }), 302);
    });

    // Sign-out ends the whole SSO session, so another site must not trigger it: a link followed
    // from this site (Sec-Fetch-Site same-origin/same-site, or typed by the person) signs out at
    // once, as oauth2-proxy does; anything else gets a confirmation page first.
    app.get(SIGN_OUT_PATH, async (request, reply) => {
      const query = request.query as Record<string, string | undefined>;
      const rd = safeRedirect(query['rd'] ?? trustedHeader(request, 'x-auth-request-redirect'), {
        origin: originOf(request),
        allowedDomains: redirectDomains,
      });
      const cookie = cookies.read(request);
      if (!cookie || sameSiteNavigation(request)) return signOut(request, reply, rd);
      return reply
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(
          renderSignOutPage(request.headers['accept-language'], {
            action: SIGN_OUT_PATH,
            rd,
            csrfToken: deps.csrf.token('sign_out', cookie.sessionId),
          }),
        );
    });

    app.post(SIGN_OUT_PATH, async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const rd = safeRedirect(typeof body['rd'] === 'string' ? body['rd'] : undefined, {
        origin: originOf(request),
        allowedDomains: redirectDomains,
      });
      const cookie = cookies.read(request);
      if (cookie && deps.csrf.check(request.headers, 'sign_out', cookie.sessionId, body[CSRF_FIELD])) {
        throw new GatewayError(
          'invalid_request',
          403,
          'This sign-out form did not come from this page, or has expired. Please try again.',
        );
      }
      return signOut(request, reply, rd);
    });

    app.get('/oauth2/userinfo', async (request, reply) => {
      const claims = await identities.identify(request, reply);
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
