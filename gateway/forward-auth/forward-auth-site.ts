/**
 * Where forward auth is served, as every `/oauth2/*` route reads it: the scheme and cookie flags,
 * the domains it may send a browser to, the origin a request was served at, and the headers only a
 * trusted proxy may set. Built once, when the routes are registered.
 */
import type { FastifyRequest } from 'fastify';
import proxyaddr from 'proxy-addr';
import type { Config } from '../../config/config-type.ts';

export interface ForwardAuthSite {
  /** The issuer's scheme (`https` or `http`). */
  scheme: string;
  /** Cookies are `Secure`: the issuer is https. */
  secure: boolean;
  /** Where forward auth may send a browser or deliver a code: the redirect domains and the cookie domains. */
  redirectDomains: readonly string[];
  /** The origin the trusted proxy served: the issuer's scheme and the request's host (X-Forwarded-Host only from a trusted proxy). */
  originOf(request: FastifyRequest): string;
  /** Headers only a trusted proxy may set (X-Forwarded-Uri, X-Original-URI, X-Auth-Request-Redirect). */
  trustedHeader(request: FastifyRequest, name: string): string | undefined;
}

export function forwardAuthSite(config: Config): ForwardAuthSite {
  const trust = proxyaddr.compile([...config.trustedProxies]);
  // Scheme and cookie flags follow the issuer, never the request: behind a TLS-terminating proxy
  // the gateway may be reached over http, and a client outside the trusted proxies must not be
  // able to make it hand out non-Secure cookies or http callbacks.
  const scheme = new URL(config.issuer).protocol.slice(0, -1);
  return {
    scheme,
    secure: scheme === 'https',
    redirectDomains: config.forwardAuthHosts,
    originOf: (request) => `${scheme}://${request.host}`,
    trustedHeader(request, name) {
      const peer = request.raw.socket.remoteAddress;
      if (!peer || !trust(peer, 0)) return undefined;
      const value = request.headers[name];
      return typeof value === 'string' ? value : undefined;
    },
  };
}
