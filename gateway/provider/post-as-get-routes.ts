/**
 * POST at the authorization and logout endpoints (OIDC Core §3.1.2.1 and RP-Initiated Logout §2:
 * the OP MUST support GET and POST), answered with a 303 to the same endpoint by GET, the
 * parameters moved from the form body to the query.
 *
 * oidc-provider 9 serves these endpoints by POST only when its session cookie is
 * `SameSite=None` (a cross-site form post carries no `Lax` cookie, so the endpoint would not know
 * the user's session). The gateway keeps `SameSite=Lax`, and a browser follows a 303 with a
 * top-level GET, which does carry `Lax` cookies: the request then works as the GET form does,
 * with no weaker cookie for every other request.
 */
import type { FastifyInstance } from 'fastify';
import { PROVIDER_BODY_LIMIT_BYTES } from './form-body.ts';

export function postAsGetRoutes(issuer: string, paths: readonly string[]) {
  return async function routes(app: FastifyInstance): Promise<void> {
    await app.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser(
        'application/x-www-form-urlencoded',
        { parseAs: 'string', bodyLimit: PROVIDER_BODY_LIMIT_BYTES },
        (_request, body, done) => done(null, new URLSearchParams(body as string)),
      );
      for (const path of paths) {
        scope.post(path, async (request, reply) => {
          // Repeated parameters stay repeated: the endpoint refuses them (RFC 6749 §3.1). A POST
          // without a form body keeps its query string, for the endpoint to judge.
          // Re-encoded either way: only percent-encoded ASCII reaches the Location header.
          const url = request.raw.url ?? '';
          const params =
            request.body instanceof URLSearchParams
              ? request.body
              : new URLSearchParams(url.includes('?') ? url.slice(url.indexOf('?') + 1) : '');
          const query = params.toString();
          return reply
            .header('cache-control', 'no-store')
            .redirect(`${issuer}${path}${query === '' ? '' : `?${query}`}`, 303);
        });
      }
    });
  };
}
