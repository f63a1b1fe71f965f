/**
 * Builds the gateway's Fastify app from a frozen config. Never listens: `main.ts` does that, and
 * tests use `app.inject` or a real port.
 *
 * Composition only: the store and its secrets, the upstream, the limits and the provider are
 * started first (each in its own file here), then each face is one Fastify plugin with its
 * options. What each part owns is in docs/ARCHITECTURE.md.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import cookie from '@fastify/cookie';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import type { Config } from '../../config/config-type.ts';
import type { Store } from '../../adapters/store.ts';
import { openStore } from '../../adapters/open-store.ts';
import type { DevIdp } from '../dev/create-dev-idp.ts';
import { demoClient } from '../dev/demo-routes.ts';
import { forwardAuthOidcClient } from '../forward-auth/forward-auth-oidc-client.ts';
import type { LiveKeys } from '../keys/live-keys.ts';
import { accessLog } from '../ops/access-log.ts';
import { createGatewayMetrics } from '../ops/gateway-metrics.ts';
import { instrumentStore } from '../ops/instrument-store.ts';
import { operations } from '../ops/operations.ts';
import { FORWARD_AUTH_CLIENT_ID, forwardAuthClient } from '../provider/forward-auth-client.ts';
import type { UpstreamTokenVault } from '../upstream/upstream-tokens.ts';
import type { Upstreams } from '../upstream/upstreams.ts';
import { createCsrfGuard } from '../web/csrf.ts';
import { errorHandling } from '../web/errors.ts';
import { assetRoutes } from '../web/pages/assets.ts';
import { derivedSecrets } from './derived-secrets.ts';
import { adminRoutes } from '../admin/admin-routes.ts';
import { devPart } from './dev-part.ts';
import { tracingHook } from './tracing-hook.ts';
import { startTracing } from '../ops/tracing.ts';
import { forwardAuthPart } from './forward-auth-part.ts';
import { healthRoutes } from './health-routes.ts';
import { providerPart } from './provider-part.ts';
import { secureStore } from './secure-store.ts';
import { type EarlyAnswers, isOAuthUrl, serverOptions } from './server-options.ts';
import { setUpUpstream } from './set-up-upstream.ts';
import { signInPart } from './sign-in-part.ts';
import { startLimits } from './start-limits.ts';
import { startProvider } from './start-provider.ts';

export { DEV_IDP_PATH } from './set-up-upstream.ts';

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
  /** The users' upstream tokens (exposed for operations and tests; stored per account, so any upstream's reads all). */
  vault: UpstreamTokenVault;
  /** The upstreams users sign in at. */
  upstreams: Upstreams;
  devIdp: DevIdp | undefined;
  /** The signing keys as this instance sees them. */
  keys: LiveKeys;
}

declare module 'fastify' {
  interface FastifyInstance {
    gateway: GatewayContext;
  }
}

export async function buildGateway(config: Config, options: GatewayOptions = {}): Promise<FastifyInstance> {
  const metrics = createGatewayMetrics();
  const store = instrumentStore(options.store ?? (await openStore(config.store)), metrics);
  const early: EarlyAnswers = { answers: [] };
  const app = Fastify(serverOptions(config, options.logger, early));
  // From the first moment of closing, Fastify answers everything (503 to new requests).
  app.addHook('preClose', async () => {
    early.answers = [];
  });
  if (options.store === undefined) app.addHook('onClose', async () => store.close());
  if (config.accessLog) await app.register(accessLog, options.accessLogWrite ? { write: options.accessLogWrite } : {});
  // Traces, when a collector is named: started before any route, flushed last at close.
  if (config.otlpEndpoint) {
    const tracing = await startTracing(config.otlpEndpoint);
    app.addHook('onClose', async () => tracing.shutdown());
    await app.register(tracingHook);
  }

  // A part that cannot start (a bad key file, a store that refuses) must not leave the others
  // running (timers, connections): the process could not exit.
  try {
    const secured = await secureStore(app, config, store);
    const secrets = derivedSecrets(secured.secrets[0] ?? '');
    const upstream = setUpUpstream(app, {
      config,
      store,
      sealing: secured.sealing,
      metrics,
      devIdpClientSecret: secrets.devIdpClient,
    });
    const limits = await startLimits(app, config, store, metrics);
    const clients: ClientMetadata[] = [
      ...(options.clients ?? []),
      ...(config.devMode ? [demoClient(config.issuer, secrets.demoClient)] : []),
      forwardAuthClient(config.issuer, secrets.forwardAuthClient),
    ];
    const provider = await startProvider(app, {
      config,
      store,
      secured,
      upstream,
      limits,
      metrics,
      clients,
      keyRefreshMs: options.keyRefreshMs ?? 10_000,
    });
    app.decorate('gateway', {
      config,
      store,
      get provider() {
        return provider.live.current();
      },
      vault: upstream.upstreams.first.vault,
      upstreams: upstream.upstreams,
      devIdp: upstream.devIdp,
      keys: provider.keys,
    } satisfies GatewayContext);

    await app.register(cookie, { secret: [...secured.secrets] });
    await app.register(errorHandling, { isOAuthUrl });
    // Before every route: its onRoute hooks give each route metrics, headers and limits.
    await app.register(operations, {
      metrics,
      issuer: config.issuer,
      regulation: limits.regulation,
      limits: { failures: limits.limits.addressFailures, signIns: limits.limits.signIns },
    });
    await app.register(assetRoutes);
    await app.register(healthRoutes(store));
    const csrf = createCsrfGuard(secured.secrets, (form) => metrics.csrfRefused.inc({ form }));
    const { sealing } = secured;
    await app.register(signInPart, { config, store, sealing, live: provider.live, upstream, limits, metrics, csrf });
    if (upstream.devIdp)
      await app.register(devPart, {
        issuer: config.issuer,
        devIdp: upstream.devIdp,
        demoClientSecret: secrets.demoClient,
      });
    // Discovery through the root app's `inject`, which reaches every route.
    const oidcClient = forwardAuthOidcClient(app, {
      issuer: config.issuer,
      clientId: FORWARD_AUTH_CLIENT_ID,
      clientSecret: secrets.forwardAuthClient,
    });
    await app.register(forwardAuthPart, {
      config,
      store,
      sealing,
      secrets: secured.secrets,
      provider,
      limits,
      metrics,
      csrf,
      oidcClient,
      early,
    });
    await app.register(providerPart, {
      issuer: config.issuer,
      store,
      provider,
      staticGroups: config.groups,
      // The access log's line and the trace's span come from Fastify hooks: no lane around them.
      fastLane:
        config.accessLog || config.otlpEndpoint
          ? undefined
          : { early, trustedProxies: config.trustedProxies, http: metrics.http },
    });
    // The operators' API (machine clients with gateway:admin only): users, sessions.
    await app.register(adminRoutes, {
      config,
      store,
      sealing,
      verify: provider.verify,
      signOut: provider.signOut,
      findClient: (clientId) => provider.live.current().Client.find(clientId),
    });
  } catch (error) {
    await app.close().catch(() => {});
    throw error;
  }
  return app;
}
