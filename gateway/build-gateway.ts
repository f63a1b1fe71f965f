/**
 * Builds the gateway's Fastify app from a frozen config. Never listens: `main.ts` does that, and
 * tests use `app.inject` or a real port.
 */
import { createHmac } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import type { Config } from '../config/config-type.ts';
import type { Store } from '../adapters/store.ts';
import { openStore } from '../adapters/open-store.ts';
import { storeOutageMiddleware } from '../adapters/oidc-adapter.ts';
import { createDevIdp, type DevIdp } from './dev-idp/create-dev-idp.ts';
import { demoClient, demoRoutes } from './demo/demo-routes.ts';
import { errorHandling } from './errors.ts';
import { healthRoutes } from './health-routes.ts';
import { createAccessTokenVerifier } from './keys/access-token-verifier.ts';
import { loadCookieSecrets } from './keys/cookie-secrets.ts';
import { createSecretBox } from './keys/secret-box.ts';
import { loadSigningKeys, publicJwk } from './keys/signing-keys.ts';
import { loggerOptions } from './logger.ts';
import { assetRoutes } from './pages/assets.ts';
import { createFindAccount } from './provider/find-account.ts';
import { createProvider } from './provider/create-provider.ts';
import { interactionRoutes } from './provider/interaction-routes.ts';
import { mountProvider, mountUnderPrefix } from './provider/mount-provider.ts';
import { userinfoRoutes } from './provider/userinfo-route.ts';
import { createUpstreamClient, type UpstreamSettings } from './upstream/upstream-client.ts';
import { UPSTREAM_CALLBACK_PATH, upstreamLoginRoutes } from './upstream/upstream-login.ts';
import { createUpstreamTokenVault, type UpstreamTokenVault } from './upstream/upstream-tokens.ts';
import { setUpClients } from './clients/set-up-clients.ts';
import { createAccessTokenClaims } from './provider/access-token-claims.ts';
import { createSsoSessionEnder } from './provider/end-sso-session.ts';
import { deliverBackchannelLogoutsInBackground } from './provider/backchannel-delivery.ts';
import { refreshGraceMiddleware } from './provider/refresh-grace.ts';
import { endSessionRevocation } from './provider/end-session-revocation.ts';
import { TOKEN_EXCHANGE_GRANT, TOKEN_EXCHANGE_PARAMETERS, upstreamTokenExchange } from './provider/upstream-token-exchange.ts';
import { BoundedCache } from './forward-auth/bounded-cache.ts';
import { allowForwardAuthRedirects, FORWARD_AUTH_CLIENT_ID, forwardAuthClient } from './forward-auth/forward-auth-client.ts';
import { forwardAuthRoutes } from './forward-auth/forward-auth-routes.ts';
import { createForwardAuthSessions } from './forward-auth/forward-auth-sessions.ts';
import { createHostPolicy } from './forward-auth/host-policy.ts';
import { createHostTokenMinter } from './forward-auth/host-token-minter.ts';
import { inProcessFetch } from './forward-auth/in-process-fetch.ts';
import * as openidClient from 'openid-client';

export interface GatewayOptions {
  /** A store to use instead of opening `config.store` (tests pass one with their own prefix). */
  store?: Store;
  /** Extra statically registered clients. */
  clients?: ClientMetadata[];
  /** Fastify logger option; defaults to pino at `config.logLevel`. */
  logger?: boolean | object;
}

export interface GatewayContext {
  config: Config;
  store: Store;
  provider: Provider;
  /** The users' upstream tokens (exposed for operations and tests). */
  vault: UpstreamTokenVault;
  devIdp: DevIdp | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    gateway: GatewayContext;
  }
}

/** The path under which the development IdP is mounted in dev mode. */
export const DEV_IDP_PATH = '/dev-idp';

/** A secret derived from the gateway's first secret, so dev-mode clients need no configuration. */
function derivedSecret(secret: string, purpose: string): string {
  return createHmac('sha256', secret).update(purpose).digest('base64url');
}

export async function buildGateway(config: Config, options: GatewayOptions = {}): Promise<FastifyInstance> {
  const ownStore = options.store === undefined;
  const store = options.store ?? (await openStore(config.store));
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config.logLevel),
    trustProxy: [...config.trustedProxies],
    bodyLimit: 64 * 1024,
  });
  if (ownStore) app.addHook('onClose', async () => store.close());

  const cookieSecrets = await loadCookieSecrets(config, store);
  const signingKeys = await loadSigningKeys(store);
  const jwks = { keys: signingKeys.map(publicJwk) };
  const secureCookies = config.issuer.startsWith('https://');
  const redirectUri = `${config.issuer}${UPSTREAM_CALLBACK_PATH}`;
  const secret = cookieSecrets[0] ?? '';

  let devIdp: DevIdp | undefined;
  let upstreamSettings: UpstreamSettings;
  if (config.devMode) {
    const clientSecret = derivedSecret(secret, 'dev-idp upstream client');
    devIdp = createDevIdp({
      issuer: `${config.issuer}${DEV_IDP_PATH}`,
      mountPath: DEV_IDP_PATH,
      clients: [{ client_id: 'gateway', client_secret: clientSecret, redirect_uris: [redirectUri] }],
    });
    upstreamSettings = {
      issuer: `${config.issuer}${DEV_IDP_PATH}`,
      clientId: 'gateway',
      clientSecret,
      scopes: config.upstream.scopes,
      redirectUri,
      allowHttp: true,
    };
  } else {
    upstreamSettings = {
      issuer: config.upstream.issuer,
      clientId: config.upstream.clientId ?? '',
      clientSecret: config.upstream.clientSecret ?? '',
      scopes: config.upstream.scopes,
      redirectUri,
      allowHttp: false,
    };
  }

  const upstream = createUpstreamClient(upstreamSettings);
  const box = createSecretBox(cookieSecrets);
  const vault = createUpstreamTokenVault(store, box, upstream, config.ttl.refreshToken * 1000);
  const policy = { hostedDomains: config.upstream.hostedDomains, allowedEmailDomains: config.allowedEmailDomains };
  const findAccount = createFindAccount({
    store,
    vault,
    policy,
    recheckIntervalMs: config.upstream.recheckInterval * 1000,
    log: app.log,
  });

  const clients: ClientMetadata[] = [...(options.clients ?? [])];
  if (config.devMode) clients.push(demoClient(config.issuer, derivedSecret(secret, 'demo app client')));
  const forwardAuthSecret = derivedSecret(secret, 'forward-auth client');
  clients.push(forwardAuthClient(config.issuer, forwardAuthSecret));

  const upstreamLinkAlive = async (sub: string) => (await vault.load(sub)) !== undefined;
  const extraTokenClaims = createAccessTokenClaims(store, config.groups);
  const provider = createProvider({ config, store, signingKeys, cookieSecrets, findAccount, clients, upstreamLinkAlive, extraTokenClaims, log: app.log });
  // Forward-auth callbacks live on every protected host: allow them on the configured domains.
  const forwardAuthDomains = [...config.redirectDomains, ...config.cookieDomains.map((d) => (d.startsWith('.') ? d : `.${d}`))];
  allowForwardAuthRedirects(provider, config.issuer, forwardAuthDomains);
  app.decorate('gateway', { config, store, provider, vault, devIdp });
  // Client registration: previous secrets in grace, audit events, GATEWAY_CLIENTS_FILE into the store.
  await setUpClients({ provider, store, config, log: app.log });

  await app.register(cookie, { secret: [...cookieSecrets] });
  await app.register(errorHandling);
  await app.register(assetRoutes);
  await app.register(healthRoutes(store));
  const upstreamLogin = { provider, store, upstream, vault, policy, issuer: config.issuer, secureCookies };
  await app.register(upstreamLoginRoutes(upstreamLogin));
  await app.register(interactionRoutes({ provider, store, upstreamLogin }));
  if (devIdp) {
    await mountUnderPrefix(app, DEV_IDP_PATH, devIdp.handler);
    const demoSecret = derivedSecret(secret, 'demo app client');
    await app.register(demoRoutes({ issuer: config.issuer, clientSecret: demoSecret, secureCookies }));
  }

  const verify = createAccessTokenVerifier(config.issuer, jwks);
  deliverBackchannelLogoutsInBackground(provider, app.log);
  // Signed-out SSO sessions, refused locally on the hot path until their last token has expired.
  const revokedSessions = new BoundedCache<true>(100_000);
  const faSessions = createForwardAuthSessions(store, box, config.ttl.session * 1000);
  const endSsoSession = createSsoSessionEnder({
    provider,
    store,
    forwardAuthSessions: faSessions,
    markRevoked: (sid) => revokedSessions.set(sid, true, Date.now() + (config.ttl.accessToken + 60) * 1000),
  });
  // First, so it is outermost: a store outage inside the middlewares below answers 503 JSON.
  provider.use(storeOutageMiddleware());
  // Sessions ended at the OpenID Provider (RP-initiated logout) end their forward-auth cookies too.
  provider.use(endSessionRevocation({ provider, forwardAuthSessions: faSessions, markRevoked: (uid) => revokedSessions.set(uid, true, Date.now() + (config.ttl.accessToken + 60) * 1000) }));
  provider.use(
    refreshGraceMiddleware({
      provider,
      store,
      box,
      graceMs: config.refreshGrace * 1000,
      onReuse: async (details) => {
        app.log.warn({ event: 'refresh_token_reuse_detected', client_id: details.clientId, sub: details.sub }, 'a rotated refresh token was used again after the grace period: ending the session');
        if (details.sessionUid) await endSsoSession(details.sessionUid);
      },
    }),
  );
  provider.registerGrantType(
    TOKEN_EXCHANGE_GRANT,
    upstreamTokenExchange({
      verify,
      vault,
      upstreamIssuer: upstreamSettings.issuer,
      audit: (event) => app.log.info({ audit: true, ...event }, 'upstream token exchanged'),
    }),
    TOKEN_EXCHANGE_PARAMETERS,
  );
  const fetchInProcess = inProcessFetch(app, config.issuer);
  let forwardAuthConfig: Promise<openidClient.Configuration> | undefined;
  const oidcClient = () => {
    forwardAuthConfig ??= openidClient
      .discovery(new URL(config.issuer), FORWARD_AUTH_CLIENT_ID, forwardAuthSecret, openidClient.ClientSecretBasic(forwardAuthSecret), {
        [openidClient.customFetch]: fetchInProcess,
        execute: config.issuer.startsWith('http://') ? [openidClient.allowInsecureRequests] : [],
      })
      .then((configuration) => {
        configuration[openidClient.customFetch] = fetchInProcess;
        return configuration;
      })
      .catch((error: unknown) => {
        forwardAuthConfig = undefined;
        throw error;
      });
    return forwardAuthConfig;
  };
  const es256 = signingKeys.find((key) => key.alg === 'ES256');
  if (!es256) throw new Error('no ES256 signing key in the store');
  await app.register(
    forwardAuthRoutes({
      config,
      store,
      sessions: faSessions,
      verify,
      mintHostToken: createHostTokenMinter(config.issuer, es256, FORWARD_AUTH_CLIENT_ID),
      policy: createHostPolicy(config.hostRules),
      oidcClient,
      isRevoked: (sid) => sid !== undefined && revokedSessions.has(sid),
      endSsoSession,
    }),
  );
  await mountProvider(app, provider.callback(), {
    trustedProxies: config.trustedProxies,
    routes: userinfoRoutes('/me', { store, verify }),
  });
  return app;
}
