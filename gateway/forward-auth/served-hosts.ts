/**
 * Forward auth answers only for hosts it is configured for (the issuer's, or within the cookie
 * and redirect domains), as sign-in does: a check for any other `Host` (a typo, nginx's default
 * server, `evil.com`) is refused instead of judged by no rule and answered with a token for it.
 * Decided once per distinct host.
 */
import type { FastifyRequest } from 'fastify';
import { BoundedCache } from '../web/bounded-cache.ts';
import { FORWARD_AUTH_CALLBACK_PATH, forwardAuthRedirectAllowed } from '../provider/forward-auth-client.ts';
import type { ForwardAuthSite } from './forward-auth-site.ts';

/** Allows `limit` events per minute (a fixed window), to bound a log line an outsider can cause. */
export function perMinute(limit: number, now: () => number = Date.now): { allow(): boolean } {
  let windowStart = 0;
  let count = 0;
  return {
    allow() {
      const at = now();
      if (at - windowStart >= 60_000) {
        windowStart = at;
        count = 0;
      }
      count += 1;
      return count <= limit;
    },
  };
}

/** Is the request's host one forward auth serves? Warns (boundedly) about one it does not. */
export function createServedHosts(site: ForwardAuthSite, issuer: string): (request: FastifyRequest) => boolean {
  const { scheme, redirectDomains } = site;
  const servedHosts = new BoundedCache<boolean>(10_000);
  const refusedHostWarnings = perMinute(10);
  return (request) => {
    const host = request.host;
    let known = servedHosts.get(host);
    if (known === undefined) {
      known = forwardAuthRedirectAllowed(`${scheme}://${host}${FORWARD_AUTH_CALLBACK_PATH}`, issuer, redirectDomains);
      servedHosts.set(host, known, Number.MAX_SAFE_INTEGER);
      // nginx answers a refused check with its own bare 403 page: the log is where an operator
      // learns why. Once per host, and at most a few hosts a minute: a client inventing a new
      // Host on every request (through a catch-all server) must not turn this into a log flood.
      if (!known && refusedHostWarnings.allow())
        request.log.warn(
          { event: 'forward_auth_host_not_served', host: host.slice(0, 255) },
          'forward auth refused a host it does not serve: add it to GATEWAY_COOKIE_DOMAINS or GATEWAY_REDIRECT_DOMAINS',
        );
    }
    return known;
  };
}
