/**
 * Builds the gateway's Fastify app from a frozen config. Never listens: `main.ts` does that, and
 * tests use `app.inject` or a real port.
 */
import { createHmac } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import cookie from '@fastify/cookie';
import * as openidClient from 'openid-client';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import type { Config } from '../../config/config-type.ts';
import type { Store } from '../../adapters/store.ts';
import { openStore } from '../../adapters/open-store.ts';
import { sealLegacyClients } from '../clients/seal-legacy-clients.ts';
import { syncClientsFile } from '../clients/sync-clients-file.ts';
import { createDevIdp, type DevIdp } from '../dev/create-dev-idp.ts';
import { demoClient, demoRoutes } from '../dev/demo-routes.ts';
import { answerErrors, errorHandling } from '../web/errors.ts';
import { oauthEndpoint } from '../provider/oauth-endpoint.ts';
import { FORWARD_AUTH_CLIENT_ID, forwardAuthClient } from '../provider/forward-auth-client.ts';
import { forwardAuthRoutes } from '../forward-auth/forward-auth-routes.ts';
import { createForwardAuthSessions } from '../sessions/forward-auth-sessions.ts';
import { createHostPolicy } from '../accounts/host-policy.ts';
import { createHostTokenMinter } from '../forward-auth/host-token-minter.ts';
import { inProcessFetch } from '../forward-auth/in-process-fetch.ts';
import { startRevokedSessions } from '../sessions/revoked-sessions.ts';
import { healthRoutes } from './health-routes.ts';
import { createAccessTokenVerifier } from '../keys/access-token-verifier.ts';
import { loadCookieSecrets } from '../keys/cookie-secrets.ts';
import { startLiveKeys, type LiveKeys } from '../keys/live-keys.ts';
import { loadStoreSealing } from '../keys/store-sealing.ts';
import { restoreEmptiedStore } from '../keys/restore-emptied-store.ts';
import { loggerOptions } from '../web/logger.ts';
import { assetRoutes } from '../web/pages/assets.ts';
import { createAccessTokenClaims } from '../provider/access-token-claims.ts';
import { createSignOut } from '../sessions/sign-out.ts';
import { createFindAccount } from '../provider/find-account.ts';
import { interactionRoutes } from '../provider/interaction-routes.ts';
import { mountProvider, mountUnderPrefix, type NodeHandler } from '../provider/mount-provider.ts';
import { createProviderInstance } from '../provider/provider-instance.ts';
import { createLiveAccessTokens } from '../provider/live-access-token.ts';
import { canonicalProviderUrl, PROVIDER_ROUTES } from '../provider/provider-routes.ts';
import { userinfoRoutes } from '../provider/userinfo-route.ts';
import { postAsGetRoutes } from '../provider/post-as-get-routes.ts';
import { createUpstreamClient, type UpstreamSettings } from '../upstream/upstream-client.ts';
import { UPSTREAM_CALLBACK_PATH, upstreamLoginRoutes } from '../upstream/upstream-login.ts';
import { createUpstreamTokenVault, type UpstreamTokenVault } from '../upstream/upstream-tokens.ts';
import { accessLog } from '../ops/access-log.ts';
import { audit } from '../web/audit.ts';
import { createCsrfGuard } from '../web/csrf.ts';
import { createGatewayMetrics } from '../ops/gateway-metrics.ts';
import { instrumentStore } from '../ops/instrument-store.ts';
import { instrumentUpstream } from '../upstream/instrument-upstream.ts';
import { observeProvider } from '../ops/observe-provider.ts';
import { reportStorePersistence } from '../ops/report-store-persistence.ts';
import { operations } from '../ops/operations.ts';
import {
  BODY_LIMIT_BYTES,
  clientErrorHandler,
  MAX_HEADER_BYTES,
  parseQueryString,
  REQUEST_TIMEOUT_MS,
} from '../ops/request-limits.ts';
import { addressKey, startRegulation } from '../ops/regulation.ts';
import { setSecurityHeaders } from '../ops/security-headers.ts';
import { createSignInEvents } from '../ops/sign-in-events.ts';

export interface GatewayOptions {
  /** A store to use instead of opening `config.store` (tests pass one with their own prefix). */
  store?: Store;
  /** Extra statically registered clients. */
  clients?: ClientMetadata[];
  /** Fastify logger option; defaults to pino at `config.logLevel`. */
  logger?: boolean | object;
  /** How often the signing keys are re-read from the store (default 10 s). */
  keyRefreshMs?: number;
  /** Where access log lines go when `GATEWAY_ACCESS_LOG` is on (default stdout). */
  accessLogWrite?: (line: string) => void;
}

export interface GatewayContext {
  config: Config;
  store: Store;
  provider: Provider;
  /** The users' upstream tokens (exposed for operations and tests). */
  vault: UpstreamTokenVault;
  devIdp: DevIdp | undefined;
  /** The signing keys as this instance sees them. */
  keys: LiveKeys;
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
  const metrics = createGatewayMetrics();
  const store = instrumentStore(options.store ?? (await openStore(config.store)), metrics);
  // The OAuth endpoints answer errors as OAuth error JSON, even those refused before routing.
  const isOAuthUrl = (url: string) => oauthEndpoint(url) !== undefined;
  const answerRouterError = answerErrors(isOAuthUrl);
  const app = Fastify({
    logger: options.logger ?? loggerOptions(config.logLevel),
    // No "incoming request"/"request completed" lines: they were two synchronous writes per check
    // nginx makes. GATEWAY_ACCESS_LOG turns on one compact, asynchronous line instead.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: [...config.trustedProxies],
    // Request limits (gateway/ops/request-limits.ts): 413, 431 and 408, never a 500 or a hang.
    bodyLimit: BODY_LIMIT_BYTES,
    // Timeouts are checked every second (Node checks every 30 s by default, so a stalled request
    // could live twice REQUEST_TIMEOUT_MS).
    http: { maxHeaderSize: MAX_HEADER_BYTES, headersTimeout: REQUEST_TIMEOUT_MS, connectionsCheckingInterval: 1_000 },
    requestTimeout: REQUEST_TIMEOUT_MS,
    clientErrorHandler,
    // What the router refuses before any route (a path that does not decode), answered like any
    // other refusal instead of with Fastify's own body; no route, so no route's onSend hooks.
    frameworkErrors: (error, request, reply) => {
      setSecurityHeaders(reply, { hsts: config.issuer.startsWith('https://') });
      answerRouterError(error, request, reply);
    },
    routerOptions: { querystringParser: parseQueryString },
    // oidc-provider serves `/Token` and `/token/` as `/token`: every rule must see the one path.
    rewriteUrl: (request) => canonicalProviderUrl(request.url ?? '/'),
  });
  if (ownStore) app.addHook('onClose', async () => store.close());
  // What a restart of the store would cost, in the start log (a warning unless nothing).
  if (config.production) await reportStorePersistence(store, app.log);
  if (config.accessLog) await app.register(accessLog, options.accessLogWrite ? { write: options.accessLogWrite } : {});

  const cookieSecrets = await loadCookieSecrets(config, store);
  // Everything kept at rest is sealed or hashed under the store's data key, which these secrets wrap.
  const { sealing, rewrapped, created, key: dataKey } = await loadStoreSealing(store, cookieSecrets);
  if (rewrapped)
    app.log.info(
      { event: 'data_key_rewrapped' },
      "the store's data key opened with an older GATEWAY_SECRETS entry and is now wrapped with the first",
    );
  // A first start and a store that lost its data look the same from here: say both.
  if (created && config.production) {
    app.log.warn(
      { event: 'data_key_created' },
      'the store had no data key, so a new one was made: expected on the first start on this store; ' +
        'otherwise the store has lost its data (a Redis restart without persistence?) and every session, account and client registered through the API or the CLI with it',
    );
  }
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
    app.addHook('onClose', async () => devIdp?.close());
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

  const upstream = instrumentUpstream(createUpstreamClient(upstreamSettings), metrics);
  const vault = createUpstreamTokenVault(store, sealing, upstream, config.ttl.refreshToken * 1000);
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

  // Signed-out SSO sessions, refused locally on the hot path (on every instance) until their last
  // token has expired.
  const revokedSessions = await startRevokedSessions(store, (config.ttl.accessToken + 60) * 1000, app.log);
  // Failure-based limits, shared by every instance through the store (gateway/ops/regulation.ts).
  const regulation = await startRegulation(store, {
    log: app.log,
    onRefused: (limit, key) => {
      metrics.rateLimited.inc({ limit: limit.name });
      audit(
        app.log,
        'limit.refused',
        { limit: limit.name, key },
        'too many failures or sign-ins: refused until the window ends',
      );
    },
  });
  app.addHook('onClose', async () => regulation.stop());
  const failureWindowMs = config.regulation.failureWindow * 1000;
  const limits = {
    clientFailures: { name: 'client_failures', max: config.regulation.clientFailures, windowMs: failureWindowMs },
    addressFailures: { name: 'address_failures', max: config.regulation.addressFailures, windowMs: failureWindowMs },
    signIns: { name: 'sign_in_steps', max: config.regulation.signInSteps, windowMs: 60_000 },
    registrations: { name: 'registrations', max: config.regulation.registrations, windowMs: 3_600_000 },
  } as const;
  app.addHook('onClose', async () => revokedSessions.stop());
  const faSessions = createForwardAuthSessions(store, sealing, config.ttl.session * 1000, async (refreshToken) => {
    // That one token only (RFC 7009 revocation would end the whole grant).
    await (await current().RefreshToken.find(refreshToken))?.destroy();
  });

  // oidc-provider fixes its keys at construction: on a key change the gateway builds a new
  // instance and swaps it in. Everything below reaches the provider through `current()`.
  let provider: Provider | undefined;
  const current = (): Provider => {
    if (!provider) throw new Error('the OpenID Provider is not built yet');
    return provider;
  };
  // The one sign-out, for every path that ends a session (sessions/sign-out.ts).
  const signOut = createSignOut({
    store,
    sealing,
    provider: current,
    revoke: (uid) => revokedSessions.revoke(uid),
    log: app.log,
  });
  // A replaced key must stay published while any token it signed lives: ID tokens (1 h) and
  // access tokens, whichever is longer, plus clock skew.
  const retentionMs = (Math.max(config.ttl.accessToken, 3600) + 60) * 1000;
  const keys = await startLiveKeys({
    store,
    sealing,
    retentionMs,
    rollInMs: config.keyRollIn * 1000,
    rotationIntervalMs: config.keyRotationInterval * 1000,
    refreshMs: options.keyRefreshMs ?? 10_000,
    log: app.log,
    onChange: (view) => {
      provider = buildProvider(view.published);
    },
    onStoreEmptied: async () => {
      await restoreEmptiedStore({ config, store, secrets: cookieSecrets, dataKey, log: app.log });
      await syncClientsFile({ provider: current(), store, sealing, config, log: app.log });
    },
  });
  app.addHook('onClose', async () => keys.stop());
  const verify = createAccessTokenVerifier(config.issuer, keys.keySet);
  const upstreamLinkAlive = async (sub: string) => (await vault.load(sub)) !== undefined;
  const extraTokenClaims = createAccessTokenClaims(store, config.groups);
  const forwardAuthDomains = [
    ...config.redirectDomains,
    ...config.cookieDomains.map((d) => (d.startsWith('.') ? d : `.${d}`)),
  ];
  const buildProvider = (signingKeys: ReturnType<typeof keys.view>['published']) =>
    observeProvider(
      createProviderInstance({
        config,
        store,
        sealing,
        signingKeys,
        cookieSecrets,
        findAccount,
        clients,
        upstreamLinkAlive,
        extraTokenClaims,
        log: app.log,
        regulation,
        limits,
        vault,
        verify,
        upstreamIssuer: upstreamSettings.issuer,
        forwardAuthDomains,
        signOut,
      }),
      { metrics, log: app.log },
    );
  provider = buildProvider(keys.view().published);

  const context: GatewayContext = {
    config,
    store,
    get provider() {
      return current();
    },
    vault,
    devIdp,
    keys,
  };
  app.decorate('gateway', context);
  // Clients stored by an earlier version have their secret in clear: sealed once per store.
  const legacyClients = await sealLegacyClients(store, sealing);
  if (legacyClients > 0)
    app.log.info(
      { event: 'clients_sealed', count: legacyClients },
      'client records stored in clear by an earlier version are sealed now',
    );
  // GATEWAY_CLIENTS_FILE into the shared store (once per start).
  await syncClientsFile({ provider: current(), store, sealing, config, log: app.log });

  await app.register(cookie, { secret: [...cookieSecrets] });
  await app.register(errorHandling, { isOAuthUrl });
  // Before every route: its onRoute hooks give each route metrics, headers and limits.
  await app.register(operations, {
    metrics,
    issuer: config.issuer,
    regulation,
    limits: { failures: limits.addressFailures, signIns: limits.signIns },
  });
  await app.register(assetRoutes);
  await app.register(healthRoutes(store));
  const upstreamLogin = {
    get provider() {
      return current();
    },
    store,
    sealing,
    upstream,
    vault,
    policy,
    reservedUsernames: config.reservedUsernames,
    issuer: config.issuer,
    secureCookies,
    events: createSignInEvents(metrics, app.log, upstreamSettings.issuer),
    countForgedCallback: (request: FastifyRequest) => regulation.count(limits.addressFailures, addressKey(request.ip)),
  };
  await app.register(upstreamLoginRoutes(upstreamLogin));
  const csrf = createCsrfGuard(cookieSecrets, (form) => metrics.csrfRefused.inc({ form }));
  await app.register(
    interactionRoutes({
      get provider() {
        return current();
      },
      store,
      upstreamLogin,
      csrf,
    }),
  );
  if (devIdp) {
    await mountUnderPrefix(app, DEV_IDP_PATH, devIdp.handler);
    const demoSecret = derivedSecret(secret, 'demo app client');
    await app.register(demoRoutes({ issuer: config.issuer, clientSecret: demoSecret, secureCookies }));
  }

  const fetchInProcess = inProcessFetch(app, config.issuer);
  let forwardAuthConfig: Promise<openidClient.Configuration> | undefined;
  const oidcClient = () => {
    forwardAuthConfig ??= openidClient
      .discovery(
        new URL(config.issuer),
        FORWARD_AUTH_CLIENT_ID,
        forwardAuthSecret,
        openidClient.ClientSecretBasic(forwardAuthSecret),
        {
          [openidClient.customFetch]: fetchInProcess,
          execute: config.issuer.startsWith('http://') ? [openidClient.allowInsecureRequests] : [],
        },
      )
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
  await app.register(
    forwardAuthRoutes({
      csrf,
      secrets: cookieSecrets,
      recordCheck: (route, status, ms) => metrics.http.recordForwardAuthCheck(route, status, ms),
      countFailure: (request) => regulation.count(limits.addressFailures, addressKey(request.ip)),
      config,
      store,
      sessions: faSessions,
      verify,
      mintHostToken: createHostTokenMinter(config.issuer, keys.accessTokenKey, FORWARD_AUTH_CLIENT_ID),
      policy: createHostPolicy(config.hostRules),
      oidcClient,
      isRevoked: (sid) => revokedSessions.isRevoked(sid),
      endSsoSession: async (sid) => {
        const { sub } = await signOut.endSession(sid);
        audit(app.log, 'sign_out', { via: 'forward_auth', sid, sub }, 'signed out through forward auth');
      },
    }),
  );
  // One Koa handler per provider instance, made once.
  const handlers = new WeakMap<Provider, NodeHandler>();
  const handler: NodeHandler = (req, res) => {
    const instance = current();
    let callback = handlers.get(instance);
    if (!callback) {
      callback = instance.callback() as NodeHandler;
      handlers.set(instance, callback);
    }
    callback(req, res);
  };
  await mountProvider(app, handler, {
    issuer: config.issuer,
    routes: async (scope) => {
      await userinfoRoutes(PROVIDER_ROUTES.userinfo, {
        store,
        liveToken: createLiveAccessTokens({ verify, findGrant: (grantId) => current().Grant.find(grantId) }),
      })(scope);
      await postAsGetRoutes(config.issuer, [PROVIDER_ROUTES.authorization, PROVIDER_ROUTES.end_session])(scope);
    },
  });
  return app;
}
