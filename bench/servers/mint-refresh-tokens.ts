/**
 * Refresh tokens for the refresh benchmark, minted through oidc-provider's own models (a grant
 * and a refresh token per chain, exactly what an authorization code exchange stores), so the
 * gateway and the bare oidc-provider start from the same kind of tokens.
 */
import type Provider from 'oidc-provider';

export async function mintRefreshTokens(
  provider: Provider,
  options: { clientId: string; accountId: string; resource: string; count: number },
): Promise<string[]> {
  const client = await provider.Client.find(options.clientId);
  if (!client) throw new Error(`no client ${options.clientId}`);
  const tokens: string[] = [];
  for (let i = 0; i < options.count; i += 1) {
    const grant = new provider.Grant({ accountId: options.accountId, clientId: options.clientId });
    grant.addOIDCScope('openid email profile');
    grant.addResourceScope(options.resource, 'openid email profile');
    const grantId = await grant.save();
    const token = new provider.RefreshToken({
      accountId: options.accountId,
      client,
      grantId,
      scope: 'openid email profile',
      gty: 'authorization_code',
      resource: options.resource,
    } as ConstructorParameters<typeof provider.RefreshToken>[0]);
    tokens.push(await token.save());
  }
  return tokens;
}
