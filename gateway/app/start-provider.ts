/**
 * The gateway's OpenID Provider and what keeps it current: the signing keys (rotated, shared
 * through the store), the provider rebuilt on each key change (provider/live-provider.ts), the
 * one sign-out, and the signed-out sessions every instance refuses until their tokens expire.
 */
import type { FastifyInstance } from 'fastify';
import type { ClientMetadata } from 'oidc-provider';
import type { Config } from '../../config/config-type.ts';
import type { Store } from '../../adapters/store.ts';
import { findAccountBySub, sessionEndedByDisable } from '../accounts/account-store.ts';
import { syncClientsFile } from '../clients/sync-clients-file.ts';
import { startClientCache } from '../clients/client-cache.ts';
import { createAccessTokenVerifier, type AccessTokenVerifier } from '../keys/access-token-verifier.ts';
import { startLiveKeys, type LiveKeys } from '../keys/live-keys.ts';
import { restoreEmptiedStore } from '../keys/restore-emptied-store.ts';
import type { GatewayMetrics } from '../ops/gateway-metrics.ts';
import { observeProvider } from '../ops/observe-provider.ts';
import { createAccessTokenClaims } from '../provider/access-token-claims.ts';
import { createLiveProvider, type LiveProvider } from '../provider/live-provider.ts';
import { createProviderInstance } from '../provider/provider-instance.ts';
import { revocationLifetimeMs, startRevokedSessions, type RevokedSessions } from '../sessions/revoked-sessions.ts';
import { createSignOut, type SignOut } from '../sessions/sign-out.ts';
import type { SecuredStore } from './secure-store.ts';
import type { Limits } from './start-limits.ts';
import type { UpstreamSetup } from './set-up-upstream.ts';

export interface ProviderParts {
  live: LiveProvider;
  /** The signing keys as this instance sees them. */
  keys: LiveKeys;
  verify: AccessTokenVerifier;
  signOut: SignOut;
  revokedSessions: RevokedSessions;
}

export interface StartProviderDeps {
  config: Config;
  store: Store;
  secured: SecuredStore;
  upstream: UpstreamSetup;
  limits: Limits;
  metrics: GatewayMetrics;
  /** The statically known clients (the gateway's own and the caller's). */
  clients: ClientMetadata[];
  /** How often the signing keys are re-read from the store. */
  keyRefreshMs: number;
}

export async function startProvider(app: FastifyInstance, deps: StartProviderDeps): Promise<ProviderParts> {
  const { config, store, secured, upstream } = deps;
  const { upstreams } = upstream;
  /** The upstream a user (by the gateway's `sub`) signed in through. */
  const upstreamOf = async (sub: string) => {
    const account = await findAccountBySub(store, sub);
    return account && upstreams.ofAccount(account);
  };
  const { sealing } = secured;
  // Signed-out SSO sessions, refused locally on the hot path (on every instance) until their last
  // token has expired.
  const revokedSessions = await startRevokedSessions(store, revocationLifetimeMs(config.ttl.accessToken), app.log);
  app.addHook('onClose', async () => revokedSessions.stop());
  // Client records kept for a second, dropped on every instance when one changes (client-cache.ts).
  const clientCache = await startClientCache(store, app.log);
  app.addHook('onClose', async () => clientCache?.stop());
  const live = createLiveProvider();
  // The one sign-out, for every path that ends a session (sessions/sign-out.ts).
  const signOut = createSignOut({
    store,
    sealing,
    provider: live.current,
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
    refreshMs: deps.keyRefreshMs,
    log: app.log,
    // oidc-provider fixes its keys at construction: a key change builds a new instance.
    onChange: (view) => live.replace(build(view.published)),
    onStoreEmptied: async () => {
      await restoreEmptiedStore({ config, store, secrets: secured.secrets, dataKey: secured.dataKey, log: app.log });
      await syncClientsFile({ provider: live.current(), store, sealing, config, log: app.log });
    },
  });
  app.addHook('onClose', async () => keys.stop());
  const verify = createAccessTokenVerifier(config.issuer, keys.keySet);
  const extraTokenClaims = createAccessTokenClaims(store, config.groups);
  const build = (signingKeys: ReturnType<LiveKeys['view']>['published']) =>
    observeProvider(
      createProviderInstance({
        config,
        store,
        sealing,
        signingKeys,
        cookieSecrets: secured.secrets,
        findAccount: upstream.findAccount,
        clients: deps.clients,
        clientCache,
        upstreamLinkAlive: async (sub, upstreamId, loginTs) => {
          // Disabled, or enabled again after this session signed in: sign in again (and be
          // refused while disabled: upstream-login.ts).
          if (sessionEndedByDisable(await findAccountBySub(store, sub), loginTs)) return false;
          // A session through an id no longer configured (renamed, or from the UPSTREAM_*
          // shorthand) is the account's upstream's, found by issuer; none left: nobody backs it.
          const upstream =
            (upstreamId === undefined ? undefined : upstreams.byId(upstreamId)) ?? (await upstreamOf(sub));
          return upstream !== undefined && (await upstream.vault.load(sub)) !== undefined;
        },
        extraTokenClaims,
        log: app.log,
        regulation: deps.limits.regulation,
        limits: deps.limits.limits,
        verify,
        upstreamIds: upstreams.list.map((u) => u.config.id),
        accountUpstreamId: async (sub) => (await upstreamOf(sub))?.config.id,
        upstreamOf,
        upstreamList: upstreams.list,
        signOut,
        accessTokenKey: () => keys.accessTokenKey(),
      }),
      { metrics: deps.metrics, log: app.log },
    );
  live.replace(build(keys.view().published));
  // GATEWAY_CLIENTS_FILE into the shared store (once per start).
  await syncClientsFile({ provider: live.current(), store, sealing, config, log: app.log });
  return { live, keys, verify, signOut, revokedSessions };
}
