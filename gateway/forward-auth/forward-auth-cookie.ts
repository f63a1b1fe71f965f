/**
 * The forward-auth cookie, `<gateway access JWT>~<server-side session id>`, and where it lives.
 *
 * - Its domain is the longest `GATEWAY_COOKIE_DOMAINS` entry the served host falls under, so one
 *   sign-in serves every host of that domain; a host under none gets a host-only cookie.
 * - Flags follow the gateway's issuer, not the request: with an https issuer the cookie is
 *   `Secure` even when the request reached the gateway over plain http from outside the trusted
 *   proxies (a client cannot talk the gateway out of it).
 * - A host-only cookie on https is named `__Host-…` (RFC 6265bis §4.1.3.2): the browser then
 *   refuses it unless it is Secure, has `Path=/` and no `Domain`, so a sibling subdomain or a
 *   plain-http page cannot plant or shadow it.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { cookieDomainFor } from './domain-match.ts';

/** The cookie's base name (oauth2-proxy's is `_oauth2_proxy`). */
export const FORWARD_AUTH_COOKIE = '_gateway_auth';

/** What the cookie holds. */
export interface AuthCookie {
  /** The short-lived gateway access JWT (audience: the forward-auth client). */
  token: string;
  /** The server-side forward-auth session (its refresh token, sealed in the store). */
  sessionId: string;
}

/** Splits a cookie value; undefined when it is not of our shape. */
export function parseAuthCookie(value: string | undefined): AuthCookie | undefined {
  if (!value) return undefined;
  const separator = value.lastIndexOf('~');
  if (separator <= 0 || separator === value.length - 1) return undefined;
  return { token: value.slice(0, separator), sessionId: value.slice(separator + 1) };
}

export interface ForwardAuthCookies {
  read(request: FastifyRequest): AuthCookie | undefined;
  set(request: FastifyRequest, reply: FastifyReply, cookie: AuthCookie): void;
  clear(request: FastifyRequest, reply: FastifyReply): void;
}

export function forwardAuthCookies(options: { secure: boolean; cookieDomains: readonly string[]; maxAgeSeconds: number }): ForwardAuthCookies {
  const placement = (request: FastifyRequest) => {
    const domain = cookieDomainFor(request.hostname, options.cookieDomains);
    const name = domain === undefined && options.secure ? `__Host-${FORWARD_AUTH_COOKIE}` : FORWARD_AUTH_COOKIE;
    return { name, domain };
  };
  return {
    read(request) {
      return parseAuthCookie(request.cookies[placement(request).name]);
    },
    set(request, reply, cookie) {
      const { name, domain } = placement(request);
      reply.setCookie(name, `${cookie.token}~${cookie.sessionId}`, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: options.secure,
        maxAge: options.maxAgeSeconds,
        ...(domain ? { domain } : {}),
      });
    },
    clear(request, reply) {
      const { name, domain } = placement(request);
      reply.clearCookie(name, { path: '/', httpOnly: true, sameSite: 'lax', secure: options.secure, ...(domain ? { domain } : {}) });
    },
  };
}

/**
 * The name of a host-only cookie scoped to a path below `/` (a sign-in's transaction cookie):
 * `__Secure-` on https (`__Host-` needs `Path=/`), so a plain-http page cannot set it.
 */
export function securePathCookieName(base: string, secure: boolean): string {
  return secure ? `__Secure-${base}` : base;
}
