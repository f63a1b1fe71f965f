/**
 * The `fetch` oidc-provider uses for every call the gateway makes on a client's behalf: a
 * client's `jwks_uri`, its `sector_identifier_uri`, back-channel logout. Each such URL was chosen
 * by whoever registered the client, so each call is a server-side request forgery waiting to
 * happen (OWASP SSRF Prevention Cheat Sheet) unless:
 *
 * - it cannot reach loopback, private or link-local addresses. oidc-provider passes a dispatcher
 *   (`options.dispatcher`, lib/helpers/fetch_request.js) that destroys any connection whose remote
 *   address is special-use, after DNS resolution, so a public name that resolves to 127.0.0.1 is
 *   caught too. That dispatcher is kept for every URL, except the `host:port` services the
 *   operator listed in GATEWAY_OUTBOUND_PRIVATE_HOSTS, which are called with the default one;
 * - it never follows a redirect, allow-listed or not: the dispatcher checks only where a
 *   connection goes, and an allowed host answering `302 Location: http://127.0.0.1:6379/` (or
 *   any internal URL) would otherwise take the gateway there. A 3xx answer is a failure
 *   (RFC 9110 §15.4 leaves following redirects to the client's choice).
 */
import { outboundHostOf } from '../../config/outbound-host.ts';

type FetchOptions = RequestInit & { dispatcher?: unknown };

/** Thrown for a redirect answer, which is never followed. */
export class OutboundRedirectError extends Error {
  readonly status: number;
  constructor(url: URL, status: number) {
    super(`${url.origin}${url.pathname} answered ${status} (a redirect); the gateway does not follow redirects on outbound calls`);
    this.name = 'OutboundRedirectError';
    this.status = status;
  }
}

/** oidc-provider's `fetch` option, with `privateHosts` (`host:port`) allowed past the SSRF guard. */
export function outboundFetch(privateHosts: readonly string[]) {
  const allowed = new Set(privateHosts);
  return async (input: URL | string | Request, options: FetchOptions = {}): Promise<Response> => {
    const target = new URL(input instanceof Request ? input.url : input);
    const { dispatcher, ...rest } = options;
    const init: FetchOptions = { ...rest, redirect: 'manual' };
    if (!allowed.has(outboundHostOf(target)) && dispatcher !== undefined) init.dispatcher = dispatcher;
    const response = await fetch(input, init as RequestInit);
    if (response.status >= 300 && response.status < 400) {
      await response.body?.cancel();
      throw new OutboundRedirectError(target, response.status);
    }
    return response;
  };
}
