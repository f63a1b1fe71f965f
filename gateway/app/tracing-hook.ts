/**
 * A server span per request when tracing is on (tracing.ts): named by method and route
 * (`POST /token`, `GET /upstream/:id/callback`), never with a query string (OAuth puts codes
 * there), its status code set at the end. The check and the probes get none: nginx asks the
 * check on every request, and its cost must not depend on tracing.
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { CHECK_PATH } from '../forward-auth/check-replay.ts';
import { PROVIDER_ROUTES } from '../provider/provider-routes.ts';
import { runInContext, SpanStatusCode, startServerSpan } from '../ops/tracing.ts';

const UNTRACED = new Set([CHECK_PATH, '/healthz', '/readyz', '/metrics']);
const PROVIDER_PATHS = new Set<string>([
  ...Object.values(PROVIDER_ROUTES),
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
]);

type Traced = { otelSpan?: ReturnType<typeof startServerSpan>['span'] };

export const tracingHook = fp(async (app: FastifyInstance) => {
  app.addHook('onRequest', (request, _reply, done) => {
    let route = request.routeOptions.url ?? '/';
    // oidc-provider is mounted on a wildcard: its endpoints are named by their fixed paths
    // (`POST /token`), never by a path that holds an id or a token.
    if (route === '/*') {
      const path = request.url.split('?')[0] ?? '/';
      route = PROVIDER_PATHS.has(path) ? path : route;
    }
    if (UNTRACED.has(route)) return done();
    const server = startServerSpan(`${request.method} ${route}`, {
      'http.request.method': request.method,
      'http.route': route,
    });
    (request as Traced).otelSpan = server.span;
    // The rest of this request (its hooks, its handler, what they await) runs in the span.
    runInContext(server.context, done);
  });
  app.addHook('onResponse', (request, reply, done) => {
    const span = (request as Traced).otelSpan;
    if (span) {
      span.setAttribute('http.response.status_code', reply.statusCode);
      if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    }
    done();
  });
});
