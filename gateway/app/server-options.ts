/**
 * How the gateway's Fastify server is set up: logging, proxies, request limits, and the answers
 * for what is refused before any route. One place, so that every part mounted later shares them.
 */
import { activeTraceId } from '../ops/tracing.ts';
import { createServer, type IncomingMessage, type Server, type ServerOptions, type ServerResponse } from 'node:http';
import { LogController, type FastifyHttpOptions } from 'fastify';
import type { Config } from '../../config/config-type.ts';
import { canonicalProviderUrl } from '../provider/provider-routes.ts';
import { oauthEndpoint } from '../provider/oauth-endpoint.ts';
import { answerErrors } from '../web/errors.ts';
import { loggerOptions } from '../web/logger.ts';
import {
  BODY_LIMIT_BYTES,
  clientErrorHandler,
  MAX_HEADER_BYTES,
  parseQueryString,
  REQUEST_TIMEOUT_MS,
} from '../ops/request-limits.ts';
import { setSecurityHeaders } from '../ops/security-headers.ts';

/** The OAuth endpoints answer errors as OAuth error JSON, even those refused before routing. */
export const isOAuthUrl = (url: string): boolean => oauthEndpoint(url) !== undefined;

/**
 * Answers a request may get before Fastify sees it (forward-auth/check-replay.ts,
 * provider/provider-fast-lane.ts), each added once the part that owns it is registered, and all
 * dropped when the gateway starts closing, so that Fastify answers everything from then on (503
 * while closing). Each returns true when it answered.
 */
export interface EarlyAnswers {
  answers: Array<(req: IncomingMessage, res: ServerResponse) => boolean>;
}

export function serverOptions(
  config: Config,
  logger: boolean | object | undefined,
  early: EarlyAnswers,
): FastifyHttpOptions<Server> {
  const answerRouterError = answerErrors(isOAuthUrl);
  return {
    // Fastify's own server, as Fastify would make it, with the early answers in front.
    serverFactory: (handler, fastifyOptions) => {
      // Fastify hands its options, defaults applied, to the factory.
      const options = fastifyOptions as {
        http?: ServerOptions | null;
        keepAliveTimeout: number;
        requestTimeout: number;
        connectionTimeout: number;
        maxRequestsPerSocket: number;
      };
      const server = createServer(options.http ?? {}, (req, res) => {
        const { answers } = early;
        for (let i = 0; i < answers.length; i++) if (answers[i]?.(req, res)) return;
        handler(req, res);
      });
      server.keepAliveTimeout = options.keepAliveTimeout;
      server.requestTimeout = options.requestTimeout;
      server.setTimeout(options.connectionTimeout);
      if (options.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = options.maxRequestsPerSocket;
      return server;
    },
    // Inside a traced request, each line names its trace (tracing.ts); with tracing off, no
    // mixin runs on each line at all.
    logger:
      typeof logger === 'boolean'
        ? logger
        : {
            ...(logger ?? (loggerOptions(config.logLevel) as object)),
            ...(config.otlpEndpoint === undefined ? {} : { mixin: traceIdMixin }),
          },
    // No "incoming request"/"request completed" lines: they were two synchronous writes per check
    // nginx makes. GATEWAY_ACCESS_LOG turns on one compact, asynchronous line instead.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: [...config.trustedProxies],
    // Request limits (gateway/ops/request-limits.ts): 413, 431 and 408, never a 500 or a hang.
    bodyLimit: BODY_LIMIT_BYTES,
    // Timeouts are checked every second (Node checks every 30 s by default, so a stalled request
    // could live twice REQUEST_TIMEOUT_MS).
    http: { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1_000 },
    requestTimeout: REQUEST_TIMEOUT_MS,
    clientErrorHandler,
    // What the router refuses before any route (a path that does not decode), answered like any
    // other refusal instead of with Fastify's own body; no route, so no route's onSend hooks.
    frameworkErrors: (error, request, reply) => {
      setSecurityHeaders(reply, { hsts: config.issuer.startsWith('https://') });
      answerRouterError(error, request, reply);
    },
    routerOptions: { querystringParser: parseQueryString },
    // oidc-provider serves `/Token` and `/token/` as `/token`: every rule must see the one path.
    rewriteUrl: (request) => canonicalProviderUrl(request.url ?? '/'),
  };
}

/** pino's mixin: `trace_id` on a line written inside a traced request. */
function traceIdMixin(): Record<string, string> {
  const id = activeTraceId();
  return id === undefined ? {} : { trace_id: id };
}
