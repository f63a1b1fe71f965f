/**
 * Who may introspect or revoke a token. oidc-provider's default lets any confidential client
 * introspect every token, which would let one app read another app's grants.
 *
 * Introspection (RFC 7662 §2.1 leaves to the server which caller may learn about which token;
 * §4 wants the caller authenticated): only a confidential client, and only
 * - a token issued to itself, or
 * - an access token whose `aud` is the client itself (an API checking a token made for it, such as
 *   one passed on by delegation), or
 * - an access token whose `aud` is one of the client's `introspection_audiences`, metadata only an
 *   operator sets (check-client-policy.ts): a resource server (an API gateway such as Kong or
 *   Envoy, django-oauth-toolkit) checking the tokens sent to the APIs it serves.
 * A public client authenticates with its client id alone, which anyone can read from the app, so
 * it learns nothing (`active: false`).
 *
 * Revocation (RFC 7009 §2.1): only the client the token was issued to; another client's attempt is
 * refused with an error.
 */
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

interface ClientLike {
  clientId: string;
  clientAuthMethod?: string;
  introspection_audiences?: unknown;
}
interface TokenLike {
  clientId?: string;
  kind?: string;
  aud?: string | readonly string[];
}

/** The introspection rule above, for oidc-provider's tokens and the gateway's access JWTs alike. */
export function introspectionAllowed(client: ClientLike, token: TokenLike): boolean {
  if (client.clientAuthMethod === 'none') return false;
  if (token.clientId === client.clientId) return true;
  if (token.kind !== 'AccessToken') return false;
  const audiences = typeof token.aud === 'string' ? [token.aud] : (token.aud ?? []);
  // An access token made for this client as its audience (an API checking a delegated token).
  if (audiences.includes(client.clientId)) return true;
  if (!Array.isArray(client.introspection_audiences)) return false;
  const served: unknown[] = client.introspection_audiences;
  return audiences.some((audience) => served.includes(audience));
}

export function introspectionAllowedPolicy(_ctx: KoaContextWithOIDC, client: ClientLike, token: TokenLike): boolean {
  return introspectionAllowed(client, token);
}

/** The revocation rule above; throws for another client's token. */
export function revocationAllowed(client: ClientLike, token: TokenLike): true {
  if (token.clientId !== client.clientId) {
    throw new errors.InvalidRequest('this client may not revoke a token issued to another client');
  }
  return true;
}

export function revocationAllowedPolicy(_ctx: KoaContextWithOIDC, client: ClientLike, token: TokenLike): boolean {
  return revocationAllowed(client, token);
}
