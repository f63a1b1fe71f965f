/**
 * The registration policy applied to RFC 7591 registration and RFC 7592 update requests, from
 * inside oidc-provider's `extraClientMetadata` validator, which runs before the provider's own
 * schema checks and before anything is stored.
 *
 * What the validator sees is the metadata after oidc-provider picked the fields it recognises;
 * fields of features that are off (e.g. `backchannel_logout_uri` without back-channel logout) are
 * already gone from it. The raw request body is checked too, so a bad value is refused with a
 * clear description instead of being silently dropped.
 *
 * Operator-only fields (`first_party`, `resources`, `introspection_audiences`): a registration
 * request may not carry them. An update (RFC 7592 §2.2 replaces the whole client) keeps what an
 * operator set: the body may repeat the current value (as read with GET) but not change it, and
 * leaving it out keeps it. The token-exchange grant is refused in both (check-client-policy.ts):
 * no client that can be registered or updated over HTTP ever got it from an operator.
 */
import { isDeepStrictEqual } from 'node:util';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { checkClientPolicy, OPERATOR_ONLY_METADATA, type ClientPolicySettings } from './check-client-policy.ts';

/** The routes of oidc-provider that create or replace a client from an HTTP request. */
const REGISTRATION_ROUTES = new Set(['registration', 'client_update']);

/** True when the validator runs for an RFC 7591 registration or an RFC 7592 update. */
export function isRegistrationRequest(ctx: KoaContextWithOIDC | undefined): ctx is KoaContextWithOIDC {
  const route = ctx?.oidc?.route;
  return typeof route === 'string' && REGISTRATION_ROUTES.has(route);
}

/**
 * Checks (and, for operator-only fields on update, completes) `metadata`, the object oidc-provider
 * is about to validate and store. Throws `InvalidClientMetadata`.
 */
export function checkRegistrationRequest(
  ctx: KoaContextWithOIDC,
  metadata: Record<string, unknown>,
  settings: ClientPolicySettings,
): void {
  const body = (ctx.oidc.body ?? {}) as Record<string, unknown>;
  const current =
    ctx.oidc.route === 'client_update'
      ? (ctx.oidc.client as unknown as Record<string, unknown> | undefined)
      : undefined;
  for (const key of OPERATOR_ONLY_METADATA) {
    const kept = current?.[key];
    if (body[key] !== undefined && !(current && isDeepStrictEqual(body[key], kept))) {
      throw new errors.InvalidClientMetadata(
        `${key} can be set only by an operator (npx gateway clients add, or GATEWAY_CLIENTS_FILE); remove it from the request`,
      );
    }
    if (kept === undefined) delete metadata[key];
    else metadata[key] = structuredClone(kept);
  }
  const candidate: Record<string, unknown> = { ...body, ...metadata };
  for (const key of OPERATOR_ONLY_METADATA) delete candidate[key];
  checkClientPolicy(candidate, 'registration', settings);
}
