/**
 * Checks the gateway's own client metadata (beside what oidc-provider validates):
 * `first_party` (boolean: consent skipped), `resources` (absolute URIs the client may ask
 * access tokens for, RFC 8707) and `introspection_audiences` (the `aud` values, resource URIs or
 * client ids, whose access tokens the client may introspect, RFC 7662) and `allowed_upstreams`
 * (the upstream ids its users may sign in through; all when absent). Requests of dynamic
 * registration also go through the gateway's registration policy (gateway/clients/), which keeps
 * these fields for operators.
 */
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { ClientPolicySettings } from '../clients/check-client-policy.ts';
import { checkRegistrationRequest, isRegistrationRequest } from '../clients/check-registration-request.ts';

/** oidc-provider's `extraClientMetadata.validator`, applying the policy with `settings`. */
export function clientMetadataValidator(settings: ClientPolicySettings) {
  return (ctx: KoaContextWithOIDC | undefined, key: string, value: unknown, metadata?: object): void =>
    validateClientMetadata(settings, ctx, key, value, metadata);
}

function validateClientMetadata(
  settings: ClientPolicySettings,
  ctx: KoaContextWithOIDC | undefined,
  key: string,
  value: unknown,
  metadata?: object,
): void {
  // Dynamic registration (RFC 7591/7592): the gateway's registration policy, once per request
  // (the validator is called once per extra property; `first_party` comes first).
  if (key === 'first_party' && metadata && isRegistrationRequest(ctx)) {
    checkRegistrationRequest(ctx, metadata as Record<string, unknown>, settings);
    value = (metadata as Record<string, unknown>)['first_party'];
  }
  if (key === 'first_party' && value !== undefined && typeof value !== 'boolean') {
    throw new errors.InvalidClientMetadata('first_party must be a boolean');
  }
  if (key === 'resources' && value !== undefined) {
    if (!Array.isArray(value)) throw new errors.InvalidClientMetadata('resources must be an array of absolute URIs');
    for (const resource of value) {
      let url: URL;
      try {
        url = new URL(String(resource));
      } catch {
        throw new errors.InvalidClientMetadata(`resources: ${String(resource)} is not an absolute URI`);
      }
      if (url.hash) throw new errors.InvalidClientMetadata('resources must not contain a fragment');
    }
  }
  if (key === 'allowed_upstreams' && value !== undefined) {
    // Upstream ids (GATEWAY_UPSTREAMS): a typo would silently let nobody in, so each must exist.
    const known = settings.upstreams?.map((u) => u.id);
    if (!Array.isArray(value) || value.length === 0 || !value.every((id) => typeof id === 'string'))
      throw new errors.InvalidClientMetadata('allowed_upstreams must be a non-empty array of upstream ids');
    const unknown = known === undefined || known.length === 0 ? [] : value.filter((id) => !known.includes(id));
    if (unknown.length > 0)
      throw new errors.InvalidClientMetadata(
        `allowed_upstreams: ${unknown.join(', ')} names no configured upstream (configured: ${known?.join(', ')})`,
      );
  }
  if (key === 'token_exchange_audiences' && value !== undefined) {
    // Client ids of the APIs this client may get user tokens for by token exchange (delegation).
    if (!Array.isArray(value) || value.length === 0 || !value.every((id) => typeof id === 'string' && /^\S+$/.test(id)))
      throw new errors.InvalidClientMetadata('token_exchange_audiences must be a non-empty array of client ids');
  }
  if (key === 'introspection_audiences' && value !== undefined) {
    // An `aud` is a resource URI or a client id (resource-servers.ts): any non-empty string
    // without white space (RFC 7519 §4.1.3: a StringOrURI), compared exactly.
    if (!Array.isArray(value) || !value.every((audience) => typeof audience === 'string' && /^\S+$/.test(audience))) {
      throw new errors.InvalidClientMetadata(
        'introspection_audiences must be an array of audiences (resource URIs or client ids, without white space)',
      );
    }
  }
}
