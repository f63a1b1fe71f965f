/**
 * Operations and abuse resistance for the gateway's routes, in one plugin registered before any
 * route (its `onRoute` hooks must see them all):
 *
 * - `GET /metrics`: Prometheus text format (requests and latency per route pattern, forward-auth
 *   checks, sign-ins, tokens, upstream calls, store operations, rate limiting, process metrics);
 * - security headers on every route but `/oauth2/auth` (security-headers.ts);
 * - failure-based limits on the routes that declare them (regulated-routes.ts) and body limits
 *   on the routes that read their own bodies (request-limits.ts);
 * - unexpected errors counted (`gateway_server_errors_total{source="gateway"}`).
 *
 * `/metrics` carries no user, client or token, but it does describe traffic: keep it off the
 * public internet (do not proxy it from nginx, or allow it only from the monitoring network).
 */
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { StoreUnavailableError } from '../../adapters/store-errors.ts';
import { GatewayError } from '../web/errors.ts';
import type { GatewayMetrics } from './gateway-metrics.ts';
import type { Limit, Regulation } from './regulation.ts';
import { regulatedRoutes } from './regulated-routes.ts';
import { ownBodyLimitOnRoute } from './request-limits.ts';
import { securityHeadersOnRoute } from './security-headers.ts';

/** Prometheus text exposition format, version 0.0.4. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface OperationsOptions {
  metrics: GatewayMetrics;
  /** The gateway's issuer (https: HSTS on every answer). */
  issuer: string;
  regulation: Regulation;
  /** The per-address failure limit, and the sign-in budget (routes declaring `regulation`). */
  limits: { failures: Limit; signIns: Limit };
}

export const operations = fp(
  async function operations(app: FastifyInstance, options: OperationsOptions) {
    const { metrics } = options;
    app.addHook('onRoute', metrics.http.onRoute);
    app.addHook('onRoute', securityHeadersOnRoute({ hsts: options.issuer.startsWith('https://') }));
    app.addHook('onRoute', ownBodyLimitOnRoute);
    app.addHook('onRoute', (routeOptions) => {
      // nginx calls a hot path on every request: it logs only failures, and a child logger (with
      // its redaction set-up) per call was 5% of its CPU time. Every other route gets one.
      if (routeOptions.config?.hotPath) routeOptions.childLoggerFactory = (logger) => logger;
    });
    app.addHook('onRoute', regulatedRoutes(options.regulation, options.limits));
    app.addHook('onError', (_request, _reply, error, done) => {
      // What the error handler (errors.ts) will answer: a store outage is the store's metric.
      const status = error instanceof GatewayError ? error.status : (error.statusCode ?? 500);
      if (status >= 500 && !(error instanceof StoreUnavailableError)) metrics.serverErrors.inc({ source: 'gateway' });
      done();
    });

    app.get('/metrics', async (_request, reply) => {
      return reply
        .header('cache-control', 'no-store')
        .type(METRICS_CONTENT_TYPE)
        .send(await metrics.render());
    });
  },
  { name: 'gateway-operations', dependencies: ['gateway-errors'] },
);
