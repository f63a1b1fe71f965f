/**
 * The gateway's OpenID Provider (face 2 in docs/ARCHITECTURE.md): oidc-provider, configured, never
 * re-implemented. This file is the whole configuration; the glue it names lives beside it.
 */
import Provider, {
  errors,
  type ClientMetadata,
  type Configuration,
  type FindAccount,
  type KoaContextWithOIDC,
} from 'oidc-provider';
import type { Config } from '../../config/config-type.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { createOidcAdapter } from '../../adapters/oidc-adapter.ts';
import { CLIENT_AUTH_METHODS } from '../clients/check-client-policy.ts';
import { TOKEN_EXCHANGE_GRANT } from '../web/grant-types.ts';
import { withClientIndex } from '../clients/client-index.ts';
import { withClientChanges, type ClientCache } from '../clients/client-cache.ts';
import { registrationFeatures } from '../clients/registration-features.ts';
import { FORWARD_AUTH_CLIENT_ID } from './forward-auth-client.ts';
import type { PrivateJwk } from '../keys/signing-keys.ts';
import { createInteractionPolicy } from './interaction-policy.ts';
import { loadExistingGrant } from './load-existing-grant.ts';
import { outboundFetch } from './outbound-fetch.ts';
import { logoutSource, postLogoutSuccessSource, renderError } from './provider-pages.ts';
import { resourceIndicatorsFeature } from './resource-servers.ts';
import { isClientAbort } from '../ops/observe-provider.ts';
import { assertCheckedOidcProvider, reuseClientsOfKeptRecords } from './oidc-provider-patches.ts';
import { PROVIDER_ROUTES } from './provider-routes.ts';
import { scopeClaims, supportedScopes } from './scope-claims.ts';
import { deviceFlowFeature } from './device-flow.ts';
import { ADMIN_SCOPE } from './admin-scope.ts';
import { introspectionAllowedPolicy, revocationAllowedPolicy } from './token-policies.ts';
import { TOKEN_EXCHANGE_PARAMETERS } from './upstream-token-exchange.ts';
import { clientMetadataValidator } from './validate-client-metadata.ts';

export interface ProviderDeps {
  config: Config;
  store: Store;
  /** Seals every record and hashes every token-like id before it reaches the store. */
  sealing: Sealing;
  signingKeys: readonly PrivateJwk[];
  cookieSecrets: readonly string[];
  findAccount: FindAccount;
  clients: ClientMetadata[];
  /**
   * False when the user's tokens at the session's upstream (undefined: the account's own) are
   * gone: the next authorization goes to the upstream.
   */
  upstreamLinkAlive: (sub: string, upstreamId: string | undefined, loginTs?: number) => Promise<boolean>;
  /** Claims added to access tokens (RFC 9068 §2.2.2: identity claims the apps need offline). */
  extraTokenClaims: Configuration['extraTokenClaims'];
  log: { error(obj: object, msg: string): void; info(obj: object, msg: string): void };
  /**
   * The token-exchange grant's handler (upstream-token-exchange.ts). A provider that never serves
   * (the CLI's, which only validates clients) has none; the grant type is registered anyway, so
   * an operator can give it to a client there.
   */
  tokenExchange?: (ctx: KoaContextWithOIDC) => Promise<void>;
  /** The upstreams' ids, which `upstream=<id>` on an authorization request may name. */
  upstreamIds?: readonly string[];
  /** The id of the upstream a user signed in through (a client's `allowed_upstreams` is checked against it). */
  accountUpstreamId?: (sub: string) => Promise<string | undefined>;
  /** The serving gateway's one-second copies of client records; the CLI reads the store each time. */
  clientCache?: ClientCache;
}

/** Interactions (sign-in, consent) are served by the gateway's own routes under this path. */
export const INTERACTION_PATH = '/interaction';

/** Browsers' origins allowed for CORS: those of the client's own redirect URIs (SPAs). */
function clientBasedCORS(
  _ctx: KoaContextWithOIDC,
  origin: string,
  client: { redirectUris?: readonly string[] },
): boolean {
  return (client.redirectUris ?? []).some((uri) => {
    try {
      return new URL(uri).origin === origin;
    } catch {
      return false;
    }
  });
}

export function createProvider(deps: ProviderDeps): Provider {
  // The gateway patches oidc-provider's internals in a few places: refuse a version they were not checked against.
  assertCheckedOidcProvider();
  const { config } = deps;
  const configuration: Configuration = {
    // Client writes also index the client id, for `npx gateway clients list`, and are announced to
    // the other instances, which keep clients for a second (gateway/clients/client-cache.ts).
    adapter: withClientChanges(
      withClientIndex(createOidcAdapter(deps.store, deps.sealing), deps.store),
      deps.store,
      deps.clientCache,
    ),
    clients: deps.clients,
    findAccount: deps.findAccount,
    jwks: { keys: deps.signingKeys.map((key) => ({ ...key })) as NonNullable<Configuration['jwks']>['keys'] },
    cookies: {
      keys: [...deps.cookieSecrets],
      // Own names, so the gateway's cookies never collide with another oidc-provider on the same
      // host; prefixed on https (RFC 6265bis §4.1.3), so that a sibling subdomain or a plain-http
      // page cannot plant or shadow them: the session cookie is host-only with `Path=/`
      // (`__Host-`), the interaction and resume cookies are path-scoped (`__Secure-`).
      names: config.issuer.startsWith('https://')
        ? { session: '__Host-gw_session', interaction: '__Secure-gw_interaction', resume: '__Secure-gw_resume' }
        : { session: 'gw_session', interaction: 'gw_interaction', resume: 'gw_resume' },
      long: { httpOnly: true, sameSite: 'lax' },
      short: { httpOnly: true, sameSite: 'lax' },
    },
    // `amr` says how the user signed in, `upstream:<id>` naming the upstream (OIDC Core §2): an app
    // that asked for one with `upstream=` can check that it got a sign-in there.
    claims: { ...scopeClaims, openid: [...(scopeClaims['openid'] ?? []), 'amr'] } as Configuration['claims'],
    scopes: [...supportedScopes, ...config.apiScopes, ADMIN_SCOPE],
    // Authorization code only (RFC 9700 §2.1.2: no implicit grant).
    responseTypes: ['code'],
    // ID tokens carry the profile claims too: many apps (Authlib, django) read them from there.
    conformIdTokenClaims: false,
    allowOmittingSingleRegisteredRedirectUri: false,
    // The client authentication methods of the registration policy (gateway/clients/), advertised in discovery.
    clientAuthMethods: [...CLIENT_AUTH_METHODS],
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },
    extraClientMetadata: {
      properties: [
        'first_party',
        'resources',
        'introspection_audiences',
        'allowed_upstreams',
        'token_exchange_audiences',
      ],
      validator: clientMetadataValidator(config),
    },
    clientBasedCORS,
    // `upstream=<id>` skips the sign-in page's choice; an id that names no upstream is the app's
    // mistake, told to the app (invalid_request) rather than shown to the user as a choice.
    extraParams: {
      async upstream(_ctx: KoaContextWithOIDC, value: unknown, client?: { metadata(): Record<string, unknown> }) {
        if (value === undefined || deps.upstreamIds === undefined) return;
        if (typeof value !== 'string' || !deps.upstreamIds.includes(value))
          throw new errors.InvalidRequest(
            `upstream names no configured identity provider (known: ${deps.upstreamIds.join(', ')})`,
          );
        const allowed = client?.metadata()['allowed_upstreams'];
        if (Array.isArray(allowed) && !allowed.includes(value))
          throw new errors.InvalidRequest(`this app may not sign users in through ${value} (allowed_upstreams)`);
      },
    },
    routes: { ...PROVIDER_ROUTES },
    features: {
      devInteractions: { enabled: false },
      // Off, as a decision: DPoP (RFC 9449) would bind access tokens to a key that forward auth,
      // the gateway's userinfo and every app verifying offline would then have to check, and PAR
      // (RFC 9126) stores a whole request for anyone who asks. Short-lived, audience-restricted
      // access JWTs stand in for sender constraint (docs/SECURITY.md).
      dPoP: { enabled: false },
      pushedAuthorizationRequests: { enabled: false },
      // Machine clients (RFC 6749 §4.4), for clients an operator gave the grant (check-client-policy.ts):
      // tokens for their registered resources and scopes only (resource-servers.ts), marked as a
      // machine's (access-token-claims.ts), which forward auth admits only by a rule's allowed_clients.
      clientCredentials: { enabled: true },
      // RFC 8628, for clients an operator gave the grant (a CLI, a TV): device-flow.ts.
      deviceFlow: deviceFlowFeature([...supportedScopes, ...config.apiScopes]),
      introspection: { enabled: true, allowedPolicy: introspectionAllowedPolicy },
      revocation: { enabled: true, allowedPolicy: revocationAllowedPolicy },
      userinfo: { enabled: true },
      // RFC 7591/7592, on only when GATEWAY_REGISTRATION_TOKEN is set (gateway/clients/).
      ...registrationFeatures(config),
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      // Delivered in the background with retries (backchannel-delivery.ts).
      backchannelLogout: { enabled: true },
      resourceIndicators: resourceIndicatorsFeature({ accessTokenTtl: config.ttl.accessToken }),
    },
    interactions: {
      policy: createInteractionPolicy(deps.upstreamLinkAlive, deps.accountUpstreamId),
      url: (_ctx, interaction) => `${INTERACTION_PATH}/${interaction.uid}`,
    },
    loadExistingGrant,
    extraTokenClaims: deps.extraTokenClaims,
    // Every client allowed the refresh_token grant gets a refresh token (as Keycloak does); it
    // rotates on every use (RFC 9700 §4.14.2), except forward auth's. That client is the gateway
    // itself: confidential, its refresh token sealed in the store and never sent anywhere, so
    // rotation (which §4.14.2 requires of public clients only) would detect no theft, and a
    // rotation cut off by a crash between the answer and the session's update would lose the
    // session. Not rotated, a refresh cut off anywhere is simply done again.
    issueRefreshToken: async (_ctx, client) => client.grantTypeAllowed('refresh_token'),
    rotateRefreshToken: (ctx) => ctx.oidc.client?.clientId !== FORWARD_AUTH_CLIENT_ID,
    renderError,
    // SSRF protection kept, redirects refused, the operator's private services allowed.
    fetch: outboundFetch(config.outboundPrivateHosts),
    ttl: {
      AccessToken: config.ttl.accessToken,
      // A machine's token lives as a user's access token does.
      ClientCredentials: config.ttl.accessToken,
      // A device's user code and device code (RFC 8628): 10 minutes to type it in.
      DeviceCode: 600,
      AuthorizationCode: 60,
      IdToken: 3600,
      // An unfinished sign-in is kept this long (and its upstream transaction as long): bounded,
      // since anyone can start one (gateway/ops/regulation.ts).
      Interaction: 600,
      RefreshToken: config.ttl.refreshToken,
      Grant: config.ttl.refreshToken,
      Session: config.ttl.session,
    },
  };

  const provider = new Provider(config.issuer, configuration);
  // The gateway normally runs behind a proxy that terminates TLS; X-Forwarded-* from anyone but a
  // trusted proxy are stripped before a request reaches the provider (mount-provider.ts).
  provider.proxy = true;
  // oidc-provider hashes every client record it reads; a record kept by the cache needs it once.
  const cache = deps.clientCache;
  if (cache) reuseClientsOfKeptRecords(provider, (id) => cache.kept(id));
  // Registered before any client is read: oidc-provider accepts in `grant_types` only the grant
  // types it knows.
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    deps.tokenExchange ??
      (async () => {
        throw new errors.UnsupportedGrantType();
      }),
    TOKEN_EXCHANGE_PARAMETERS,
  );

  provider.on('server_error', (_ctx: unknown, error: Error) => {
    // A client that hung up mid-request is no server fault (observe-provider.ts says so too).
    if (!isClientAbort(error)) deps.log.error({ err: error }, 'oidc-provider server_error');
  });
  for (const event of [
    'authorization.error',
    'grant.error',
    'introspection.error',
    'revocation.error',
    'userinfo.error',
    'end_session.error',
  ] as const) {
    (provider.on as (name: string, listener: (...args: never[]) => void) => void)(
      event,
      (_ctx: unknown, error: { error?: string; error_description?: string; status?: number }) => {
        // `authorization_pending` is no refusal: it is every poll of a device whose user has not
        // answered yet (RFC 8628 §3.5), one every 5 s for up to 10 minutes per device.
        if ((error.status ?? 400) < 500 && error.error !== 'authorization_pending')
          deps.log.info({ event, error: error.error, description: error.error_description }, 'oauth request refused');
      },
    );
  }
  return provider;
}
