/**
 * The forward-auth cookie, `<gateway access JWT>~<server-side session id>~<binding>`, and where
 * it lives.
 *
 * - Its domain is the longest `GATEWAY_COOKIE_DOMAINS` entry the served host falls under, so one
 *   sign-in serves every host of that domain; a host under none gets a host-only cookie.
 * - Flags follow the gateway's issuer, not the request: with an https issuer the cookie is
 *   `Secure` even when the request reached the gateway over plain http from outside the trusted
 *   proxies (a client cannot talk the gateway out of it).
 * - A host-only cookie on https is named `__Host-…` (RFC 6265bis §4.1.3.2): the browser then
 *   refuses it unless it is Secure, has `Path=/` and no `Domain`, so a sibling subdomain or a
 *   plain-http page cannot plant or shadow it.
 * - The value is bound to where it was set: a third part, an HMAC of its scope (the cookie
 *   domain, or the host for a host-only cookie) and the JWT's signature, keyed by the gateway's
 *   secrets. A cookie lifted from one domain (by an app it reached, a log, a proxy) is refused at
 *   any other; within its own domain it works on every host, as the browser sends it there anyway.
 *   The shipped proxy configs also keep the cookie from ever reaching an app.
 */
import { createHmac, createSecretKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { BoundedCache } from '../web/bounded-cache.ts';
import { cookieDomainFor } from '../web/domain-match.ts';

/** The cookie's base name (oauth2-proxy's is `_oauth2_proxy`). */
export const FORWARD_AUTH_COOKIE = '_gateway_auth';

/** What the cookie holds. */
export interface AuthCookie {
  /** The short-lived gateway access JWT (audience: the forward-auth client). */
  token: string;
  /** The server-side forward-auth session (its refresh token, sealed in the store). */
  sessionId: string;
}

/** Splits a cookie value `<token>~<session id>~<binding>`; undefined when it is not of that shape. */
function splitAuthCookie(value: string | undefined): (AuthCookie & { binding: string }) | undefined {
  if (!value) return undefined;
  const [token, sessionId, binding, ...rest] = value.split('~');
  if (!token || !sessionId || !binding || rest.length > 0) return undefined;
  return { token, sessionId, binding };
}

export interface ForwardAuthCookies {
  read(request: FastifyRequest): AuthCookie | undefined;
  set(request: FastifyRequest, reply: FastifyReply, cookie: AuthCookie): void;
  clear(request: FastifyRequest, reply: FastifyReply): void;
}

export function forwardAuthCookies(options: {
  secure: boolean;
  cookieDomains: readonly string[];
  maxAgeSeconds: number;
  /** The gateway's secrets, newest first: the first binds, all verify (rotation). */
  secrets: readonly string[];
}): ForwardAuthCookies {
  // KeyObjects, made once (a raw key is imported again on every HMAC).
  const keys = options.secrets.map((secret) =>
    createSecretKey(createHmac('sha256', secret).update('gateway forward-auth cookie binding').digest()),
  );
  const [bindKey] = keys;
  if (!bindKey) throw new Error('the forward-auth cookie needs at least one secret');
  /** 128 bits of HMAC over the scope and the JWT's signature (its last part). */
  const bind = (key: KeyObject, scope: string, token: string) =>
    createHmac('sha256', key)
      .update(`${scope}\n${token.slice(token.lastIndexOf('.') + 1)}`)
      .digest()
      .subarray(0, 16);
  /**
   * Bindings already checked, by scope and binding, with the JWT signature each binds: a browser
   * sends the same cookie on every request, and an HMAC (a key import and two hashes) per check
   * was a seventh of the hot path's CPU. Only valid bindings are kept, so a flood of forged
   * cookies cannot fill it; a cached entry lives no longer than a rotated cookie would matter.
   */
  const checked = new BoundedCache<string>(100_000);
  const CHECKED_FOR_MS = 10 * 60_000;
  const placement = (request: FastifyRequest) => {
    const domain = cookieDomainFor(request.hostname, options.cookieDomains);
    const name = domain === undefined && options.secure ? `__Host-${FORWARD_AUTH_COOKIE}` : FORWARD_AUTH_COOKIE;
    return {
      name,
      domain,
      scope: domain === undefined ? `host:${request.hostname.toLowerCase()}` : `domain:${domain}`,
    };
  };
  return {
    read(request) {
      const { name, scope } = placement(request);
      const parsed = splitAuthCookie(request.cookies[name]);
      if (!parsed) return undefined;
      const signature = parsed.token.slice(parsed.token.lastIndexOf('.') + 1);
      const cacheKey = `${scope}\n${parsed.binding}`;
      // A hit names the signature this binding was computed over: a binding is worth nothing
      // with any other token.
      if (checked.get(cacheKey) === signature) return { token: parsed.token, sessionId: parsed.sessionId };
      const given = Buffer.from(parsed.binding, 'base64url');
      const bound = keys.some((key) => {
        const expected = bind(key, scope, parsed.token);
        return given.length === expected.length && timingSafeEqual(given, expected);
      });
      if (!bound) return undefined;
      checked.set(cacheKey, signature, Date.now() + CHECKED_FOR_MS);
      return { token: parsed.token, sessionId: parsed.sessionId };
    },
    set(request, reply, cookie) {
      const { name, domain, scope } = placement(request);
      const binding = bind(bindKey, scope, cookie.token).toString('base64url');
      reply.setCookie(name, `${cookie.token}~${cookie.sessionId}~${binding}`, {
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
      reply.clearCookie(name, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: options.secure,
        ...(domain ? { domain } : {}),
      });
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
