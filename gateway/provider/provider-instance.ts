/**
 * One configured oidc-provider instance with everything the gateway hangs on it: hooks on its
 * Client model, Koa middlewares in front of its endpoints, the token-exchange grant's handler.
 * oidc-provider fixes its signing keys at construction, so a key rotation builds a new instance
 * with this same function and the gateway swaps it in (build-gateway.ts); everything that matters
 * lives in the store, so requests in flight on the old instance finish normally.
 */
import { delegationExchange } from './delegation-exchange.ts';
import { deviceVerificationGuard } from './device-flow.ts';
import type { PrivateJwk } from '../keys/signing-keys.ts';
import { devicePolling } from './device-polling.ts';
import type Provider from 'oidc-provider';
import type { Store } from '../../adapters/store.ts';
import { installClientHooks } from './client-hooks.ts';
import { allowForwardAuthRedirects } from './forward-auth-client.ts';
import type { AccessTokenVerifier } from '../keys/access-token-verifier.ts';
import type { Upstream } from '../upstream/upstreams.ts';
import { storeOutageMiddleware } from '../../adapters/oidc-adapter.ts';
import { audit } from '../web/audit.ts';
import { accessJwtEndpoints } from './access-jwt-endpoints.ts';
import { backchannelDelivery } from '../sessions/backchannel-delivery.ts';
import { routeBackchannelLogout } from './oidc-provider-patches.ts';
import type { SignOut } from '../sessions/sign-out.ts';
import { createProvider, type ProviderDeps } from './create-provider.ts';
import { endSessionSignOut } from './end-session-sign-out.ts';
import { renderError } from './provider-pages.ts';
import { providerRegulation, type ProviderLimits } from './provider-regulation.ts';
import { refreshGraceMiddleware } from './refresh-grace.ts';
import type { Regulation } from '../ops/regulation.ts';
import { upstreamTokenExchange } from './upstream-token-exchange.ts';
import { clientManagement } from '../clients/client-cache.ts';
import { PROVIDER_ROUTES } from './provider-routes.ts';

export interface ProviderInstanceDeps extends ProviderDeps {
  store: Store;
  verify: AccessTokenVerifier;
  /** The upstream the user (by the gateway's `sub`) signed in with (token exchange). */
  upstreamOf: (sub: string) => Promise<Upstream | undefined>;
  /** Every configured upstream, in the operator's order (token exchange may name any of them). */
  upstreamList: readonly Upstream[];
  /** The one sign-out (sessions/sign-out.ts): RP-initiated logout and refresh-token reuse end sessions with it. */
  signOut: SignOut;
  regulation: Regulation;
  limits: ProviderLimits;
  log: ProviderDeps['log'] & { warn(obj: object, msg: string): void };
  /** The key that signs access tokens now: delegated tokens are signed here, outside oidc-provider. */
  accessTokenKey: () => PrivateJwk;
}

export function createProviderInstance(deps: ProviderInstanceDeps): Provider {
  const { config, store, log } = deps;
  const provider = createProvider({
    ...deps,
    tokenExchange: upstreamTokenExchange({
      verify: deps.verify,
      upstreamOf: deps.upstreamOf,
      upstreams: deps.upstreamList,
      audit: (fields) => audit(log, 'token.exchanged', fields, 'a gateway token exchanged for an upstream token'),
      delegate: delegationExchange({
        issuer: config.issuer,
        accessTokenKey: deps.accessTokenKey,
        accessTokenTtl: config.ttl.accessToken,
        audit: (fields) => audit(log, 'token.exchanged', fields, "a user's token exchanged for another app's"),
      }),
    }),
  });
  // Forward-auth callbacks live on every protected host: allow them on the configured domains.
  allowForwardAuthRedirects(provider, config.issuer, config.forwardAuthHosts);
  // Client registration: previous secrets in their grace period, audit events.
  installClientHooks(provider, store, deps.sealing, log);
  // Logout tokens go out once per app session, in the background, with retries.
  routeBackchannelLogout(provider, backchannelDelivery({ store, sealing: deps.sealing, log, background: true }));
  // First, so it is outermost: a store outage inside the middlewares below answers 503 JSON.
  provider.use(storeOutageMiddleware());
  // Failure-based limits and the sign-in budget, before anything else looks at the request.
  provider.use(providerRegulation({ regulation: deps.regulation, limits: deps.limits, renderError }));
  // Sessions ended at the OpenID Provider (RP-initiated logout) end as every sign-out does.
  provider.use(endSessionSignOut({ provider, signOut: deps.signOut }));
  // A device's polling paced as RFC 8628 §3.5 says (slow_down), which oidc-provider does not do.
  provider.use(devicePolling({ store, sealing: deps.sealing }));
  // The verification page's links and forms (device-flow.ts).
  provider.use(deviceVerificationGuard());
  // RFC 7592 changes what it reads: the client comes from the store, never a kept copy, and a
  // change holds the client's lock, as the CLI's and the admin API's do.
  provider.use(
    clientManagement({
      store,
      cache: deps.clientCache,
      registrationPath: PROVIDER_ROUTES.registration,
      clientOfToken: async (token) =>
        (await provider.RegistrationAccessToken.find(token).catch(() => undefined))?.clientId,
    }),
  );
  // The gateway's access JWTs at the introspection and revocation endpoints.
  provider.use(accessJwtEndpoints({ provider, store, sealing: deps.sealing, verify: deps.verify }));
  provider.use(
    refreshGraceMiddleware({
      provider,
      store,
      sealing: deps.sealing,
      graceMs: config.refreshGrace * 1000,
      onReuse: async (details) => {
        audit(
          log,
          'refresh_token.reuse_detected',
          { client_id: details.clientId, sub: details.sub },
          'a rotated refresh token was used again after the grace period: ending the session',
        );
        if (details.sessionUid) await deps.signOut.endSession(details.sessionUid);
      },
      // Not an attack: an instance died mid-refresh (its log ends there), and its client retried.
      onResume: (details) =>
        log.warn(
          { client_id: details.clientId, sub: details.sub },
          'a refresh cut off by a dead instance was retried: its refresh token was rotated again',
        ),
    }),
  );
  return provider;
}
