/**
 * Who may introspect or revoke a token: only the client it was issued to. (oidc-provider's
 * default lets any confidential client introspect every token, which would let one app read
 * another app's grants.) RFC 7009 §2.1: a revocation by another client is refused with an error.
 */
import { errors, type KoaContextWithOIDC } from 'oidc-provider';

interface ClientLike {
  clientId: string;
}
interface TokenLike {
  clientId?: string;
}

export function introspectionAllowedPolicy(_ctx: KoaContextWithOIDC, client: ClientLike, token: TokenLike): boolean {
  return token.clientId === client.clientId;
}

export function revocationAllowedPolicy(_ctx: KoaContextWithOIDC, client: ClientLike, token: TokenLike): boolean {
  if (token.clientId !== client.clientId) {
    throw new errors.InvalidRequest('this client may not revoke a token issued to another client');
  }
  return true;
}
