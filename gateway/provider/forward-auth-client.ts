/**
 * Forward auth is itself a client of the gateway's OpenID Provider: one SSO session serves every
 * app and every domain. Each protected host proxies `/oauth2/` to the gateway, so the client's
 * redirect URI is `<that host>/oauth2/callback`: instead of listing every host, the client accepts
 * exactly that path on the issuer's own host and on hosts within the configured cookie and
 * redirect domains, and nothing else:
 *
 * - the issuer's scheme only: `https`, or plain `http` when the issuer itself is http (a
 *   development set-up); never http next to an https issuer;
 * - the default port, unless the configured domain names one (`.example.com:8443`), in
 *   development too: a port nobody named may belong to anyone on the machine;
 * - no query, fragment or credentials.
 *
 * So a code can only ever be delivered to a host the operator named, over the issuer's scheme:
 * an attacker who reads traffic of some other port or an http sibling gets nothing.
 */
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import { decideRedirectUris } from './oidc-provider-patches.ts';
import { hostMatches, parseDomainPattern } from '../web/domain-match.ts';

export const FORWARD_AUTH_CLIENT_ID = 'gateway-forward-auth';
export const FORWARD_AUTH_CALLBACK_PATH = '/oauth2/callback';

export function forwardAuthClient(issuer: string, clientSecret: string): ClientMetadata {
  return {
    client_id: FORWARD_AUTH_CLIENT_ID,
    client_secret: clientSecret,
    client_name: 'Forward auth (nginx auth_request)',
    redirect_uris: [`${issuer}${FORWARD_AUTH_CALLBACK_PATH}`],
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
    first_party: true,
  };
}

/** True when `uri` is a forward-auth callback on a host the operator configured. */
export function forwardAuthRedirectAllowed(uri: string, issuer: string, domains: readonly string[]): boolean {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return false;
  }
  const issuerUrl = new URL(issuer);
  if (url.protocol !== issuerUrl.protocol) return false;
  if (
    url.pathname !== FORWARD_AUTH_CALLBACK_PATH ||
    url.search !== '' ||
    url.hash !== '' ||
    url.username ||
    url.password
  )
    return false;
  if (url.href !== `${url.origin}${FORWARD_AUTH_CALLBACK_PATH}`) return false;
  if (url.origin === issuerUrl.origin) return true;
  return domains.some((domain) => {
    const pattern = parseDomainPattern(domain);
    if (pattern.port === undefined && url.port !== '') return false;
    return hostMatches(pattern, url.hostname, url.port);
  });
}

/** Teaches oidc-provider's Client model the forward-auth redirect rule, for that one client only. */
export function allowForwardAuthRedirects(provider: Provider, issuer: string, domains: readonly string[]): void {
  decideRedirectUris(provider, (clientId, uri) =>
    clientId === FORWARD_AUTH_CLIENT_ID ? forwardAuthRedirectAllowed(uri, issuer, domains) : undefined,
  );
}
