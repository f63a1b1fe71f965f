/**
 * `gateway:admin`: the scope of the gateway's own admin API (gateway/admin/), for a machine client
 * an operator registered with it (client credentials, `resource` = the gateway's issuer). Never a
 * user's: an authorization request (a browser's, a device's) asking for it is refused with
 * `invalid_scope` before anyone signs in, and dynamic registration cannot register it
 * (check-client-policy.ts), so no consent page ever offers it.
 */
import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';

export const ADMIN_SCOPE = 'gateway:admin';

/** An interaction-policy check, with the first prompt: refuses the admin scope to users' sign-ins. */
export function adminScopeCheck() {
  const { Check } = interactionPolicy;
  return new Check('admin_scope_not_for_users', 'the admin scope is for machine clients', (ctx: KoaContextWithOIDC) => {
    if (ctx.oidc.requestParamScopes.has(ADMIN_SCOPE))
      throw new errors.InvalidScope(
        `${ADMIN_SCOPE} is given to machine clients only (client credentials)`,
        ADMIN_SCOPE,
      );
    return Check.NO_NEED_TO_PROMPT;
  });
}
