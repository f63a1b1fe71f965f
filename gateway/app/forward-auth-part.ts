/**
 * Forward auth, as a Fastify plugin: the routes nginx's `auth_request` and the browsers behind it
 * use (`/oauth2/*`), with their sessions, the per-host tokens and the host rules.
 */
import type { FastifyPluginAsync } from 'fastify';
import type * as openidClient from 'openid-client';
import type { Config } from '../../config/config-type.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { createHostPolicy } from '../accounts/host-policy.ts';
import { createCheckReplay } from '../forward-auth/check-replay.ts';
import { forwardAuthRoutes } from '../forward-auth/forward-auth-routes.ts';
import { createHostTokenMinter } from '../forward-auth/host-token-minter.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import { addressKey } from '../ops/regulation.ts';
import { FORWARD_AUTH_CLIENT_ID } from '../provider/forward-auth-client.ts';
import { createForwardAuthSessions } from '../sessions/forward-auth-sessions.ts';
import { audit } from '../web/audit.ts';
import type { CsrfGuard } from '../web/csrf.ts';
import type { Limits } from './start-limits.ts';
import type { EarlyAnswers } from './server-options.ts';
import type { ProviderParts } from './start-provider.ts';

export interface ForwardAuthPartOptions {
  config: Config;
  store: Store;
  sealing: Sealing;
  secrets: readonly string[];
  provider: ProviderParts;
  limits: Limits;
  metrics: GatewayMetrics;
  csrf: CsrfGuard;
  /** The forward-auth client's openid-client configuration (forward-auth-oidc-client.ts). */
  oidcClient: () => Promise<openidClient.Configuration>;
  /** Where the check's repeats are answered before Fastify (server-options.ts). */
  early: EarlyAnswers;
}

export const forwardAuthPart: FastifyPluginAsync<ForwardAuthPartOptions> = async (app, options) => {
  const { config, provider, limits } = options;
  const sessions = createForwardAuthSessions(
    options.store,
    options.sealing,
    config.ttl.session * 1000,
    async (token) => {
      // That one token only (RFC 7009 revocation would end the whole grant).
      await (await provider.live.current().RefreshToken.find(token))?.destroy();
    },
  );
  const recordCheck = (route: string, status: number, ms: number) =>
    options.metrics.http.recordForwardAuthCheck(route, status, ms);
  // Repeated checks are answered before Fastify (check-replay.ts); not with GATEWAY_ACCESS_LOG on,
  // whose line per request comes from a Fastify hook.
  const policy = createHostPolicy(config.hostRules);
  const replay = config.accessLog
    ? undefined
    : createCheckReplay({
        trustedProxies: config.trustedProxies,
        readsTarget: policy.readsTarget,
        isRevoked: (sid) => provider.revokedSessions.isRevoked(sid),
        recordCheck,
      });
  if (replay) options.early.answers.push(replay.answer);
  await app.register(
    forwardAuthRoutes({
      replay,
      csrf: options.csrf,
      secrets: options.secrets,
      recordCheck,
      countFailure: (request) => limits.regulation.count(limits.limits.addressFailures, addressKey(request.ip)),
      config,
      store: options.store,
      sessions,
      verify: provider.verify,
      mintHostToken: createHostTokenMinter(config.issuer, provider.keys.accessTokenKey, FORWARD_AUTH_CLIENT_ID),
      policy,
      oidcClient: options.oidcClient,
      isRevoked: (sid) => provider.revokedSessions.isRevoked(sid),
      endSsoSession: async (sid) => {
        const { sub } = await provider.signOut.endSession(sid);
        audit(app.log, 'sign_out', { via: 'forward_auth', sid, sub }, 'signed out through forward auth');
      },
    }),
  );
};
