/**
 * `GET /oauth2/sign_in`: where nginx sends a 401 (`error_page 401 = /oauth2/sign_in`): a redirect
 * to `/oauth2/start` (sign-in-flow.ts) for browsers, a JSON 401 for API callers.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config-type.ts';
import { sendProblem } from '../web/errors.ts';
import { escapeHtml, layout } from '../web/pages/layout.ts';
import { messagesFor } from '../web/pages/i18n.ts';
import type { ForwardAuthSite } from './forward-auth-site.ts';
import { safeRedirect } from './safe-redirect.ts';
import type { HostPolicy } from '../accounts/host-policy.ts';

export function signInPageRoute(
  app: FastifyInstance,
  deps: { config: Config; site: ForwardAuthSite; policy: HostPolicy },
): void {
  const { config } = deps;
  const { originOf, trustedHeader, redirectDomains } = deps.site;

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
    // An API answers with JSON: by the caller's Accept, GATEWAY_API_PATHS, or an `api: true` rule.
    const api =
      (request.headers.accept ?? '').includes('application/json') ||
      config.apiPaths.some((prefix) => path.startsWith(prefix)) ||
      deps.policy.explain({ host: request.hostname, uri: path, method: 'GET', ip: '' }).rule?.rule.api === true;
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
}
