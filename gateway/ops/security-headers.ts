/**
 * Security headers on every answer the gateway writes, its own routes and the OpenID Provider's
 * alike (OWASP Secure Headers; RFC 9700 §4.16 on clickjacking, §4.2.4 on Referer leakage):
 *
 * - `Content-Security-Policy`: nothing loads but the gateway's own stylesheet; no script, no
 *   inline style (`'unsafe-inline'` is never allowed), no plugin, no `<base>`, and no framing
 *   (`frame-ancestors 'none'`). oidc-provider's `form_post` response page has one inline script;
 *   oidc-provider adds that script's hash to `script-src` itself, so it alone may run.
 *   `form-action` is left open on purpose: browsers apply it to the redirects after a form post,
 *   and a consent ends in a redirect to the app's redirect_uri.
 * - `X-Frame-Options: DENY` for browsers without CSP level 2.
 * - `Referrer-Policy: no-referrer`: URLs carry codes and states.
 * - `X-Content-Type-Options: nosniff`: JSON is never run as script.
 * - `Strict-Transport-Security` when the gateway's issuer is https: every public address of the
 *   gateway is then https, whatever the hop from the proxy was (a browser ignores the header on
 *   an http answer anyway, RFC 6797 §8.1); never with an http issuer.
 *
 * Token responses are `Cache-Control: no-store` (RFC 6749 §5.1): oidc-provider sets it on every
 * token, userinfo, introspection and registration answer; the gateway's own JSON sets it too.
 *
 * `/oauth2/auth` (forward auth, asked by nginx on every request and never shown to a person) is a
 * `hotPath` route and gets no hook at all, to stay as cheap as it is.
 */
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';

/** The policy of every page the gateway serves. */
export const PAGE_CSP =
  "default-src 'none'; script-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'";

/** One year, the usual HSTS lifetime; subdomains are left to the operator. */
export const HSTS = 'max-age=31536000';

/**
 * Sets the headers on one answer (`hsts` when the issuer is https). Routes get it as an `onSend`
 * hook (below); an answer written before any route is found (Fastify's `frameworkErrors`) calls it
 * directly.
 */
export function setSecurityHeaders(reply: FastifyReply, options: { hsts: boolean }): void {
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
  if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', PAGE_CSP);
  if (options.hsts) reply.header('strict-transport-security', HSTS);
}

/**
 * An `onRoute` hook giving every route but the `hotPath` ones an `onSend` hook that sets the
 * headers; `hsts` when the issuer is https.
 */
export function securityHeadersOnRoute(options: { hsts: boolean }): (routeOptions: RouteOptions) => void {
  function setHeaders(
    _request: FastifyRequest,
    reply: FastifyReply,
    payload: unknown,
    done: (error: null, payload: unknown) => void,
  ): void {
    setSecurityHeaders(reply, options);
    done(null, payload);
  }
  return (routeOptions) => {
    // Answered to nginx only, never shown to a person: no headers, no hook.
    if (routeOptions.config?.hotPath) return;
    const existing = routeOptions.onSend;
    const hooks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
    if (hooks.includes(setHeaders as never)) return;
    routeOptions.onSend = [...hooks, setHeaders] as RouteOptions['onSend'];
  };
}

/** The Koa context oidc-provider hands its middlewares, reduced to what is used here. */
interface KoaLike {
  secure: boolean;
  set(name: string, value: string): void;
  response: { get(name: string): string };
}

/**
 * The same headers on oidc-provider's answers (a Koa middleware for `provider.use`): its
 * requests are hijacked from Fastify, so Fastify's `onSend` never sees them. The CSP goes on
 * before the provider renders, so its `form_post` page can add its script's hash.
 */
export async function providerSecurityHeaders(ctx: KoaLike, next: () => Promise<unknown>): Promise<void> {
  ctx.set('x-content-type-options', 'nosniff');
  ctx.set('referrer-policy', 'no-referrer');
  ctx.set('x-frame-options', 'DENY');
  ctx.set('content-security-policy', PAGE_CSP);
  // The provider sees the issuer's scheme on every request (mount-provider.ts).
  if (ctx.secure) ctx.set('strict-transport-security', HSTS);
  await next();
  // A hash was added next to 'none' (form_post): 'none' must stand alone, so drop it.
  const csp = ctx.response.get('content-security-policy');
  if (csp.includes("'none' 'sha256-"))
    ctx.set('content-security-policy', csp.replace("script-src 'none' 'sha256-", "script-src 'sha256-"));
}
