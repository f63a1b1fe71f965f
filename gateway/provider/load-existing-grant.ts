/**
 * Consent is skipped for first-party clients (`first_party: true`, set only by an operator): their
 * grant is created, or widened to what is asked now, without showing a consent page. Third-party
 * clients keep oidc-provider's behaviour: the remembered grant, or the consent prompt.
 *
 * One scope is never granted silently, first-party or not: `upstream_token` hands the app the
 * user's Google token, which an operator's trust in the app does not make the user's choice. Left
 * out of the grant, it makes oidc-provider show the consent page (`op_scopes_missing`).
 */
import type { KoaContextWithOIDC } from 'oidc-provider';
import { UPSTREAM_TOKEN_SCOPE } from './upstream-token-scope.ts';

export async function loadExistingGrant(ctx: KoaContextWithOIDC) {
  const { oidc } = ctx;
  const client = oidc.client;
  const session = oidc.session;
  if (!client || !session?.accountId) return undefined;
  const grantId = oidc.result?.consent?.grantId ?? session.grantIdFor(client.clientId);
  let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (client['first_party'] !== true) return grant;

  grant ??= new oidc.provider.Grant({ clientId: client.clientId, accountId: session.accountId });
  const requested = [...oidc.requestParamScopes].filter((scope) => scope !== UPSTREAM_TOKEN_SCOPE).join(' ');
  if (requested) grant.addOIDCScope(requested);
  if (oidc.requestParamClaims.size > 0) grant.addOIDCClaims([...oidc.requestParamClaims]);
  for (const [indicator, server] of Object.entries(oidc.resourceServers ?? {})) {
    const allowed = [...oidc.requestParamScopes].filter((scope) => server.scopes.has(scope));
    if (allowed.length > 0) grant.addResourceScope(indicator, allowed.join(' '));
  }
  await grant.save();
  return grant;
}
