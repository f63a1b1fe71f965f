/**
 * `GET /oauth2/start?rd=[&upstream=<id>]` and `/oauth2/callback`: authorization code + PKCE against the gateway's
 * own OpenID Provider (in process), so one SSO session serves every app and every domain. The
 * callback opens a forward-auth session and sets its cookie (forward-auth-cookie.ts).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import * as client from 'openid-client';
import type { Config } from '../../config/config-type.ts';
import { GatewayError, sendError } from '../web/errors.ts';
import { FORWARD_AUTH_CALLBACK_PATH, forwardAuthRedirectAllowed } from '../provider/forward-auth-client.ts';
import type { ForwardAuthSessions } from '../sessions/forward-auth-sessions.ts';
import type { ForwardAuthCookies } from './forward-auth-cookie.ts';
import type { IdentityResolver } from './forward-auth-identity.ts';
import type { ForwardAuthSite } from './forward-auth-site.ts';
import { safeRedirect } from './safe-redirect.ts';
import {
  callbackState,
  parseTransaction,
  type SignInTransaction,
  transactionCookieName,
} from './sign-in-transaction.ts';

export interface SignInFlowDeps {
  config: Config;
  site: ForwardAuthSite;
  cookies: ForwardAuthCookies;
  identities: IdentityResolver;
  sessions: ForwardAuthSessions;
  /** openid-client configuration of the forward-auth client (in-process transport). */
  oidcClient: () => Promise<client.Configuration>;
  /** Counts a callback that carried this browser's sign-in cookie but not its state against the caller's address. */
  countFailure?: ((request: FastifyRequest) => Promise<unknown>) | undefined;
}

export function signInFlowRoutes(app: FastifyInstance, deps: SignInFlowDeps): void {
  const { config, cookies, identities } = deps;
  const { originOf, trustedHeader, redirectDomains, secure } = deps.site;

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
    // `upstream=<id>` skips the sign-in page's choice, as on the provider's /auth (which also
    // refuses it repeated, and shows the page for an empty one).
    // (Read from the raw query: the parsed one keeps the first of repeated parameters.)
    const given = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1)).getAll('upstream');
    if (given.length > 1) throw new GatewayError('invalid_request', 400, 'upstream is given more than once.');
    const named = given[0];
    const upstream = typeof named === 'string' && named !== '' ? named : undefined;
    if (upstream !== undefined && !config.upstreams.some((u) => u.id === upstream) && !config.devMode) {
      const known = config.upstreams.map((u) => u.id).join(', ');
      throw new GatewayError(
        'invalid_request',
        400,
        // At most 40 printable ASCII characters of it: no bidi controls or look-alikes on the page.
        `There is no sign-in provider ${JSON.stringify(upstream.slice(0, 40).replace(/[^\x20-\x7e]/g, '?'))} (known: ${known}).`,
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
      ...(upstream === undefined ? {} : { upstream }),
    });
    const tx: SignInTransaction = { state, nonce, verifier, rd, redirectUri };
    reply.setCookie(transactionCookieName(state, secure), JSON.stringify(tx), {
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
    const state = callbackState(query['state']);
    const name = transactionCookieName(state, secure);
    const raw = state ? request.cookies[name] : undefined;
    const unsigned = raw ? request.unsignCookie(raw) : undefined;
    if (state) reply.clearCookie(name, { path: FORWARD_AUTH_CALLBACK_PATH, secure });
    const tx = parseTransaction(unsigned?.valid ? unsigned.value : undefined);
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
      request.log.info({ error_code: (error as { code?: string }).code }, 'forward-auth code exchange refused');
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
}
