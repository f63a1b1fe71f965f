import { PROVIDER_ROUTES } from './provider-routes.ts';

/**
 * Which OAuth endpoint a path of the OpenID Provider belongs to. The provider's catch-all route
 * serves every OP endpoint, so a hook on that one route (body limits) or an answer
 * written before any route is found (a path that does not decode) tells them apart by path.
 * These endpoints are called by programs that parse error JSON, never shown to a person: the token
 * endpoint with introspection and revocation (RFC 6749 §5.2, RFC 7662 §2.3, RFC 7009 §2.2.1),
 * device authorization (RFC 8628 §3.2), registration (RFC 7591 §3.2.2, RFC 7592 §2) and
 * userinfo (RFC 6750 §3.1). The device verification page (`/device`) is a person's, not one of them.
 */
const ENDPOINTS = [
  PROVIDER_ROUTES.token,
  PROVIDER_ROUTES.device_authorization,
  PROVIDER_ROUTES.registration,
  PROVIDER_ROUTES.userinfo,
] as const;

export type OAuthEndpoint = (typeof ENDPOINTS)[number];

/** The OAuth endpoint `url` (a raw request URL) belongs to, or undefined. */
export function oauthEndpoint(url: string): OAuthEndpoint | undefined {
  for (const endpoint of ENDPOINTS) {
    if (url.startsWith(endpoint)) {
      const next = url.charCodeAt(endpoint.length);
      // end of string, '/', '?'
      if (Number.isNaN(next) || next === 47 || next === 63) return endpoint;
    }
  }
  return undefined;
}
