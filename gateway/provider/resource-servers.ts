/**
 * Access tokens for apps are JWTs (RFC 9068), so any app verifies them offline with the JWKS.
 *
 * oidc-provider issues JWT access tokens only for a resource server (RFC 8707), so every token
 * request gets one: the `resource` the client asked for when it is one of the client's registered
 * `resources`, else the client itself (`urn:gateway:client:<client_id>`, which becomes `aud` =
 * client_id, what RFC 9068 §3 suggests when no resource is named). A client cannot mint tokens
 * for another app's audience: unknown resources are refused with `invalid_target`.
 */
import { errors, type KoaContextWithOIDC, type ResourceServer } from 'oidc-provider';

const CLIENT_RESOURCE_PREFIX = 'urn:gateway:client:';

/** The scopes an app's access token may carry. */
const RESOURCE_SCOPES = 'openid email profile groups';

/** The resource indicator that stands for the client itself. */
export function clientResource(clientId: string): string {
  return `${CLIENT_RESOURCE_PREFIX}${clientId}`;
}

interface ClientWithResources {
  clientId: string;
  resources?: unknown;
  /** The client's registered scopes (RFC 7591 `scope`), space-separated. */
  scope?: string | undefined;
}

/** True while a client credentials grant is being answered (a machine, no user). */
const forMachine = (ctx: KoaContextWithOIDC | undefined) => ctx?.oidc?.params?.['grant_type'] === 'client_credentials';

function registeredResources(client: ClientWithResources): string[] {
  return Array.isArray(client.resources) ? client.resources.filter((r): r is string => typeof r === 'string') : [];
}

export function resourceIndicatorsFeature(options: { accessTokenTtl: number }) {
  return {
    enabled: true as const,
    // Always issue the token for a resource server, even when the request names none.
    useGrantedResource: () => true,
    defaultResource(ctx: KoaContextWithOIDC, client: ClientWithResources, oneOf?: readonly string[]) {
      if (oneOf && oneOf.length > 0) return oneOf[0];
      // A machine with one API: that API, so its token is good for something without `resource`.
      const registered = registeredResources(client);
      if (forMachine(ctx) && registered.length === 1) return registered[0];
      return clientResource(client.clientId);
    },
    getResourceServerInfo(ctx: KoaContextWithOIDC, indicator: string, client: ClientWithResources): ResourceServer {
      let audience: string;
      if (indicator === clientResource(client.clientId)) audience = client.clientId;
      else if (registeredResources(client).includes(indicator)) audience = indicator;
      else throw new errors.InvalidTarget(`this client may not request tokens for ${indicator}`);
      return {
        // A machine's token carries only the scopes an operator registered for it (the user
        // scopes mean nothing without a user); oidc-provider keeps of the requested scopes
        // those the resource server lists.
        scope: forMachine(ctx) ? (client.scope ?? '') : RESOURCE_SCOPES,
        audience,
        accessTokenTTL: options.accessTokenTtl,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'ES256' } },
      };
    },
  };
}
