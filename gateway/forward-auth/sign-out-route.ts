/**
 * `GET|POST /oauth2/sign_out?rd=`: ends the SSO session and every domain's forward-auth cookie
 * (through the gateway's one sign-out, sessions/sign-out.ts).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError } from '../web/errors.ts';
import { CSRF_FIELD, type CsrfGuard } from '../web/csrf.ts';
import { renderSignOutPage } from '../web/pages/sign-out-page.ts';
import type { ForwardAuthSessions } from '../sessions/forward-auth-sessions.ts';
import type { AuthCookie, ForwardAuthCookies } from './forward-auth-cookie.ts';
import type { ForwardAuthSite } from './forward-auth-site.ts';
import { isSessionToken } from './own-session-token.ts';
import { safeRedirect } from './safe-redirect.ts';

const SIGN_OUT_PATH = '/oauth2/sign_out';

export interface SignOutRouteDeps {
  site: ForwardAuthSite;
  cookies: ForwardAuthCookies;
  sessions: ForwardAuthSessions;
  /** Ends an SSO session everywhere: the gateway's one sign-out (sessions/sign-out.ts). */
  endSsoSession: (sid: string) => Promise<void>;
  /** CSRF tokens of the sign-out confirmation form. */
  csrf: CsrfGuard;
}

/** Fetch Metadata (`Sec-Fetch-Site`): the browser says the request came from this site, or from the person. */
function sameSiteNavigation(request: FastifyRequest): boolean {
  const site = request.headers['sec-fetch-site'];
  return site === 'same-origin' || site === 'same-site' || site === 'none';
}

export function signOutRoutes(app: FastifyInstance, deps: SignOutRouteDeps): void {
  const { cookies } = deps;
  const { originOf, trustedHeader, redirectDomains } = deps.site;

  /**
   * Ends the SSO session behind the request's cookie (read once, by the route), then clears it.
   * Only the forward-auth cookie of that very session signs anyone out: an app's access token, or
   * another session's token with this session's id, ends nothing.
   */
  async function signOut(
    request: FastifyRequest,
    reply: FastifyReply,
    cookie: AuthCookie | undefined,
    rd: string,
  ): Promise<FastifyReply> {
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
    if (!cookie || sameSiteNavigation(request)) return signOut(request, reply, cookie, rd);
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

  // The confirmation form posts `csrf` and `rd` (its body parser: forward-auth-routes.ts).
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
    return signOut(request, reply, cookie, rd);
  });
}
