/**
 * Sign-in, as a Fastify plugin: the round trip to each upstream (its callback) and the
 * interaction pages oidc-provider sends browsers to (choosing an upstream, and consent).
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Config } from '../../config/config-type.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import { addressKey } from '../ops/regulation.ts';
import { createSignInEvents } from '../ops/sign-in-events.ts';
import { interactionRoutes } from '../provider/interaction-routes.ts';
import type { LiveProvider } from '../provider/live-provider.ts';
import { upstreamLoginRoutes, type UpstreamLoginDeps } from '../upstream/upstream-login.ts';
import type { CsrfGuard } from '../web/csrf.ts';
import type { Limits } from './start-limits.ts';
import type { UpstreamSetup } from './set-up-upstream.ts';

export interface SignInPartOptions {
  config: Config;
  store: Store;
  sealing: Sealing;
  live: LiveProvider;
  upstream: UpstreamSetup;
  limits: Limits;
  metrics: GatewayMetrics;
  csrf: CsrfGuard;
}

export const signInPart: FastifyPluginAsync<SignInPartOptions> = async (app, options) => {
  const { config, live, upstream, limits } = options;
  const upstreamLogin: UpstreamLoginDeps = {
    // The provider in use when the request comes (it is replaced on a key change).
    get provider() {
      return live.current();
    },
    store: options.store,
    sealing: options.sealing,
    upstreams: upstream.upstreams,
    reservedUsernames: config.reservedUsernames,
    issuer: config.issuer,
    secureCookies: config.issuer.startsWith('https://'),
    events: createSignInEvents(options.metrics, app.log),
    countForgedCallback: (request: FastifyRequest) =>
      limits.regulation.count(limits.limits.addressFailures, addressKey(request.ip)),
  };
  await app.register(upstreamLoginRoutes(upstreamLogin));
  await app.register(
    interactionRoutes({
      get provider() {
        return live.current();
      },
      store: options.store,
      upstreamLogin,
      csrf: options.csrf,
    }),
  );
};
