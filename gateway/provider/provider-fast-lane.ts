/**
 * The provider's machine-facing endpoints answered straight from Node's `request` event, before
 * Fastify: the token endpoint (every refresh, code exchange and client-credentials token), device
 * authorization, introspection and revocation. oidc-provider answers them itself (a Koa app), so
 * Fastify only routed them to the catch-all, checked the declared body size, worked out the
 * client's address and counted the answer; its request, reply, routing and hooks around a request
 * it then hands over were about an eighth of the CPU of a client-credentials token
 * (docs/PERFORMANCE.md). This does the same four things itself, the way the catch-all does them:
 *
 * - only `POST` to exactly one of these paths; every other spelling (`/Token`, `/token/`, an
 *   absolute-form target, a query) goes through Fastify, which brings it to the canonical path
 *   first (provider-routes.ts), so no spelling passes one way and fails the other;
 * - a declared body over the provider's limit goes through Fastify too, which answers the 413;
 * - the client's address is Fastify's `request.ip` (the trusted proxies' X-Forwarded-For), and
 *   the provider is pinned to the issuer's host and scheme (mount-provider.ts);
 * - the answer is counted in the same series as the catch-all counts it.
 *
 * Tracing and the access log are Fastify hooks: with either on, the lane is not installed.
 * While the gateway closes, the early answers are dropped and Fastify answers 503.
 *
 * Two answers differ from the catch-all's, both towards RFC 6749 §5.2: a Content-Type that does
 * not parse (`foo`) is answered by oidc-provider (400 `invalid_request`, OAuth error JSON), where
 * Fastify's parser answered 415 problem+json; and a chunked body past the limit, which oidc-provider
 * answers 413 either way, is counted in the metrics, where Fastify's hooks never saw it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import { PROVIDER_BODY_LIMIT_BYTES } from './form-body.ts';
import { issuerHeaders, type NodeHandler } from './mount-provider.ts';
import { PROVIDER_ROUTES } from './provider-routes.ts';

/** The paths the lane takes (each is also its metrics label); no gateway route is more specific. */
export const FAST_LANE_PATHS: readonly string[] = [
  PROVIDER_ROUTES.token,
  PROVIDER_ROUTES.device_authorization,
  PROVIDER_ROUTES.introspection,
  PROVIDER_ROUTES.revocation,
];

export interface ProviderFastLaneDeps {
  /** The gateway's issuer: the only host and scheme the provider sees. */
  issuer: string;
  /** GATEWAY_TRUSTED_PROXIES, as Fastify's `trustProxy` is given them. */
  trustedProxies: readonly string[];
  /** The provider's Node handler (the live instance's). */
  handler: NodeHandler;
  /** Counts one answer, as the catch-all route's metrics hook does (`ms` from arrival). */
  record: (route: string, method: string, status: number, ms: number) => void;
}

/** Serves `req` when it is the lane's; false when Fastify must. */
export function providerFastLane(deps: ProviderFastLaneDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const pin = issuerHeaders(deps.issuer);
  const trust = proxyaddr.compile([...deps.trustedProxies]);
  const paths = new Set(FAST_LANE_PATHS);
  return (req, res) => {
    const url = req.url;
    if (req.method !== 'POST' || url === undefined || !paths.has(url)) return false;
    const declared = req.headers['content-length'];
    if (declared !== undefined && !(Number(declared) <= PROVIDER_BODY_LIMIT_BYTES)) return false;
    const started = performance.now();
    res.once('finish', () => deps.record(url, 'POST', res.statusCode, performance.now() - started));
    pin(req, proxyaddr(req, trust));
    deps.handler(req, res);
    return true;
  };
}
