/**
 * The OpenID Provider's endpoints, as a Fastify plugin: oidc-provider behind a catch-all route
 * (provider/mount-provider.ts), with the gateway's own userinfo and the POST-as-GET endpoints in
 * the same scope, since they too read the raw body. Every more specific route wins over the wildcard.
 */
import type { FastifyPluginAsync } from 'fastify';
import type { Store } from '../../adapters/store.ts';
import type { HttpMetrics } from '../ops/http-metrics.ts';
import { FAST_LANE_PATHS, providerFastLane } from '../provider/provider-fast-lane.ts';
import type { EarlyAnswers } from './server-options.ts';
import { createLiveAccessTokens } from '../provider/live-access-token.ts';
import { mountProvider } from '../provider/mount-provider.ts';
import { postAsGetRoutes } from '../provider/post-as-get-routes.ts';
import { PROVIDER_ROUTES } from '../provider/provider-routes.ts';
import { userinfoRoutes } from '../provider/userinfo-route.ts';
import type { ProviderParts } from './start-provider.ts';

export interface ProviderPartOptions {
  issuer: string;
  store: Store;
  provider: ProviderParts;
  /** GATEWAY_GROUPS, released in userinfo with the upstream's groups. */
  staticGroups: Readonly<Record<string, readonly string[]>>;
  /**
   * Where the token endpoints' fast lane goes (provider-fast-lane.ts), with what it needs;
   * undefined when a Fastify hook must see every request (access log, tracing).
   */
  fastLane?: { early: EarlyAnswers; trustedProxies: readonly string[]; http: HttpMetrics };
}

export const providerPart: FastifyPluginAsync<ProviderPartOptions> = async (app, options) => {
  const { live, verify } = options.provider;
  await mountProvider(app, live.handler, {
    issuer: options.issuer,
    routes: async (scope) => {
      await userinfoRoutes(PROVIDER_ROUTES.userinfo, {
        store: options.store,
        staticGroups: options.staticGroups,
        liveToken: createLiveAccessTokens({ verify, findGrant: (grantId) => live.current().Grant.find(grantId) }),
      })(scope);
      await postAsGetRoutes(options.issuer, [PROVIDER_ROUTES.authorization, PROVIDER_ROUTES.end_session])(scope);
    },
  });
  const lane = options.fastLane;
  if (lane) {
    // The lane would silently take a route of the gateway's own at one of its paths.
    const taken = FAST_LANE_PATHS.filter((url) => app.hasRoute({ method: 'POST', url }));
    if (taken.length > 0)
      throw new Error(`the provider's fast lane would shadow the gateway's routes ${taken.join(', ')}`);
    const { http } = lane;
    lane.early.answers.push(
      providerFastLane({
        issuer: options.issuer,
        trustedProxies: lane.trustedProxies,
        handler: live.handler,
        record: (route, method, status, ms) => http.record(http.series(route), method, status, ms),
      }),
    );
  }
};
