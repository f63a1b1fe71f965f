/**
 * Rate limits (@fastify/rate-limit) on the endpoints an attacker hammers first: the token
 * endpoint (with introspection and revocation) and registration, the sign-in steps
 * (`/oauth2/start`, `/oauth2/callback`, `/upstream/callback`, `/interaction/*`) and the
 * development IdP. Fixed windows of one minute per client address and endpoint; the address is
 * the one the trusted proxies report (`GATEWAY_TRUSTED_PROXIES`), IPv6 by its /64.
 *
 * - Across instances: with a Redis store (`GATEWAY_STORE=redis://…`) the counters live in that
 *   Redis, shared by every instance with the same issuer; with the memory or SQLite store each
 *   process counts for itself.
 * - Never limited: `/oauth2/auth` (nginx asks it on every request; it gets no hook at all),
 *   health and metrics, and the gateway's own in-process calls to its OpenID Provider (forward
 *   auth's code exchange and refresh), which would otherwise all count against 127.0.0.1.
 * - A limited caller gets 429 with `Retry-After` (RFC 6585 §4): OAuth error JSON
 *   (`temporarily_unavailable`) on the OAuth endpoints, where clients parse RFC 6749 §5.2
 *   errors; a page or `application/problem+json` elsewhere.
 */
import { createHash } from 'node:crypto';
import rateLimit, { type FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { FastifyInstance, FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { GatewayError } from '../errors.ts';
import { IN_PROCESS_HEADER, IN_PROCESS_TOKEN } from '../provider/mount-provider.ts';
import { oauthEndpoint } from '../provider/oauth-endpoint.ts';
import type { GatewayMetrics } from './gateway-metrics.ts';
import { connectRedisRateLimit } from './redis-rate-limit-store.ts';

export interface RateLimitSettings {
  /** Requests per minute per address on each sign-in, consent, registration and dev IdP endpoint; 0 = off. */
  perMinute: number;
  /** Requests per minute per address on the token endpoint (and introspection, revocation); 0 = off. */
  tokenPerMinute: number;
  /** The store URL (`GATEWAY_STORE`): Redis URLs share the counters. */
  storeUrl: string;
  /** The issuer: instances share counters only when they serve the same issuer. */
  issuer: string;
  /** Where the development IdP is mounted, when it is. */
  devIdpPath: string | undefined;
  metrics: Pick<GatewayMetrics, 'rateLimited'>;
}

const WINDOW_MS = 60_000;

/** Where the counters of the instances serving `issuer` live in Redis. */
export function rateLimitPrefix(issuer: string): string {
  return `gateway:rate-limit:${createHash('sha256').update(issuer).digest('base64url').slice(0, 12)}:`;
}

type Hook = (request: FastifyRequest, reply: FastifyReply) => Promise<void>;

function addOnRequest(routeOptions: RouteOptions, hook: Hook): void {
  const existing = routeOptions.onRequest;
  const hooks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  if (hooks.includes(hook as never)) return;
  routeOptions.onRequest = [...hooks, hook] as RouteOptions['onRequest'];
}

/** Installs the limits; must be registered before the routes it limits. */
export const rateLimits = fp(
  async function rateLimits(app: FastifyInstance, settings: RateLimitSettings) {
    if (settings.perMinute <= 0 && settings.tokenPerMinute <= 0) return;
    let store: FastifyRateLimitStoreCtor | undefined;
    if (/^rediss?(\+cluster)?:/i.test(settings.storeUrl)) {
      const redis = await connectRedisRateLimit(settings.storeUrl, rateLimitPrefix(settings.issuer));
      app.addHook('onClose', async () => redis.close());
      store = redis.Store;
    }
    await app.register(rateLimit, {
      global: false,
      // A store failure lets the request through: the store's own errors answer it.
      skipOnError: true,
      cache: 50_000,
      ...(store ? { store } : {}),
    });

    const inProcess = (request: FastifyRequest) => request.headers[IN_PROCESS_HEADER] === IN_PROCESS_TOKEN;
    const limiter = (endpoint: string, max: number): Hook | undefined => {
      if (max <= 0) return undefined;
      const hook = app.rateLimit({
        max,
        timeWindow: WINDOW_MS,
        keyGenerator: (request) => `${endpoint}|${rateLimit.normalizeIP(request.ip)}`,
        allowList: (request) => inProcess(request),
        onExceeded: () => settings.metrics.rateLimited.inc({ endpoint }),
        errorResponseBuilder: (_request, context) => {
          const seconds = Math.max(1, Math.ceil(context.ttl / 1000));
          const description = `Too many requests: try again in ${seconds} second${seconds === 1 ? '' : 's'}.`;
          return oauthEndpoint(endpoint) !== undefined
            ? new GatewayError('temporarily_unavailable', 429, description, { oauth: true })
            : new GatewayError('too_many_requests', 429, description);
        },
      });
      return hook as unknown as Hook;
    };

    const token = limiter('/token', settings.tokenPerMinute);
    const registration = limiter('/reg', settings.perMinute);
    const byRoute = new Map<string, Hook | undefined>();
    for (const path of ['/oauth2/start', '/oauth2/callback', '/upstream/callback']) byRoute.set(path, limiter(path, settings.perMinute));
    const interaction = limiter('/interaction', settings.perMinute);
    const devIdp = settings.devIdpPath ? limiter(settings.devIdpPath, settings.perMinute) : undefined;

    /** The provider's catch-all serves every OP endpoint: limit only /token* and /reg*. */
    const providerHook: Hook = async (request, reply) => {
      const endpoint = oauthEndpoint(request.raw.url ?? '/');
      if (endpoint === '/token' && token) return token(request, reply);
      if (endpoint === '/reg' && registration) return registration(request, reply);
    };

    app.addHook('onRoute', (routeOptions) => {
      const url = routeOptions.url;
      let hook: Hook | undefined;
      if (url === '/*') hook = providerHook;
      else if (byRoute.has(url)) hook = byRoute.get(url);
      else if (url.startsWith('/interaction/')) hook = interaction;
      else if (settings.devIdpPath && (url === settings.devIdpPath || url.startsWith(`${settings.devIdpPath}/`))) hook = devIdp;
      if (hook) addOnRequest(routeOptions, hook);
    });
  },
  { name: 'gateway-rate-limits', dependencies: ['gateway-errors'] },
);
