/**
 * Ends an oidc-provider grant from outside a request, as oidc-provider's own revocation does
 * (RFC 7009 §2.1, logout, a replayed refresh token): the Grant record and every token and code
 * issued under it.
 *
 * The Grant record is what says "this grant lives": oidc-provider looks it up on every refresh
 * and every introspection, and the gateway does too for access JWTs (by their `grant_id`) and
 * token exchange. Removing the tokens alone would leave access JWTs introspecting as active until
 * they expire. It goes first, so the grant is over even if removing its tokens fails half-way.
 */
import type { Adapter } from 'oidc-provider';

export async function endGrant(adapterFor: (name: string) => Adapter, grantId: string): Promise<void> {
  const grants = adapterFor('Grant');
  await grants.destroy(grantId);
  await grants.revokeByGrantId(grantId);
}
