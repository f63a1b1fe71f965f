/**
 * The limits of regulation.ts on the gateway's own routes, declared on each route
 * (`config: { regulation: … }`) and applied by one `onRoute` hook:
 *
 * - `refusable`: an address refused for its failures is refused here too (429), before the
 *   handler runs;
 * - `sign-in-step`: also counts against the address's sign-in budget (a step that writes to the
 *   store for a caller nobody has authenticated yet).
 *
 * Routes that declare nothing, `/oauth2/auth` first of all, get no hook at all.
 */
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { GatewayError } from '../web/errors.ts';
import { addressKey, isNavigationDestination, type Limit, type Regulation } from './regulation.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How the failure-based limits apply to this route (gateway/ops/regulated-routes.ts). */
    regulation?: 'refusable' | 'sign-in-step';
  }
}

function tooMany(reply: FastifyReply, seconds: number): GatewayError {
  reply.header('retry-after', String(seconds));
  return new GatewayError(
    'too_many_requests',
    429,
    `Too many failed attempts or sign-ins from this network: try again in ${seconds} second${seconds === 1 ? '' : 's'}.`,
  );
}

/**
 * An `onRoute` hook adding the declared regulation to each route: `failures` is the per-address
 * failure limit, `signIns` the sign-in budget.
 */
export function regulatedRoutes(regulation: Regulation, limits: { failures: Limit; signIns: Limit }) {
  async function refusable(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const wait = regulation.retryAfter([[limits.failures, addressKey(request.ip)]]);
    if (wait > 0) throw tooMany(reply, wait);
  }
  async function signInStep(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    // A sign-in page is a navigation: what a browser says is none (an `<img>` on another site) is
    // refused before it is counted, so another site cannot burn its visitors' budget.
    if (!isNavigationDestination(request.headers['sec-fetch-dest']))
      throw new GatewayError(
        'invalid_request',
        400,
        'A sign-in page is a navigation of the browser, not a subresource.',
      );
    const address = addressKey(request.ip);
    const checks = [
      [limits.failures, address],
      [limits.signIns, address],
    ] as const;
    const wait = regulation.retryAfter(checks);
    if (wait > 0) throw tooMany(reply, wait);
    // The max-th step of the minute goes ahead; later ones are refused until the minute ends.
    if ((await regulation.count(limits.signIns, address)) > limits.signIns.max)
      throw tooMany(reply, Math.max(1, regulation.retryAfter(checks)));
  }
  return (routeOptions: RouteOptions): void => {
    const kind = routeOptions.config?.regulation;
    if (kind === undefined) return;
    const hook = kind === 'sign-in-step' ? signInStep : refusable;
    const existing = routeOptions.onRequest;
    const hooks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    routeOptions.onRequest = [...hooks, hook] as RouteOptions['onRequest'];
  };
}
