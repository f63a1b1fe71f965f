/**
 * The gateway's one sign-out (sessions/sign-out.ts) for a process that is not a gateway
 * (`npx gateway users sign-out`), on the store the running gateways share, so an operator's
 * sign-out ends exactly what a user's does:
 *
 * - logout tokens are signed as a running gateway signs them at that moment: by an oidc-provider
 *   configured as the gateway's (offline-provider.ts) with the key ring's current keys, read from
 *   the store and opened with GATEWAY_SECRETS; so the CLI needs the gateways' settings, their
 *   GATEWAY_ISSUER (the tokens' `iss`) and GATEWAY_OUTBOUND_PRIVATE_HOSTS included;
 * - they are delivered before the command ends (with the gateway's retries), and a failure is a
 *   JSON line on stderr;
 * - every instance is told to refuse the forward-auth cookies of the sessions ended, through the
 *   store (revoked-sessions.ts: its channel, and a set every instance reads, so a gateway on
 *   SQLite, whose channel is in-process, or one started later learns it too).
 */
import type { Config } from '../../config/config-type.ts';
import type { Store } from '../../adapters/store.ts';
import { keyView, loadKeyRing } from '../keys/signing-keys.ts';
import { loadStoreSealingFor } from '../keys/store-sealing.ts';
import { routeBackchannelLogout } from '../provider/oidc-provider-patches.ts';
import { backchannelDelivery, type DeliveryLog } from '../sessions/backchannel-delivery.ts';
import { recordRevokedSession, revocationLifetimeMs } from '../sessions/revoked-sessions.ts';
import { createSignOut, type SignOut } from '../sessions/sign-out.ts';
import { createOfflineProvider } from './offline-provider.ts';

/** The sign-out on `store`, with the settings of the gateways that share it. */
export async function createCliSignOut(config: Config, store: Store, log: DeliveryLog): Promise<SignOut> {
  const sealing = await loadStoreSealingFor(config, store);
  // The keys that sign now (which keys sign is derived from the clock, as on every gateway).
  const { signing } = keyView(await loadKeyRing(store, sealing), Date.now(), 0);
  const provider = createOfflineProvider(config, store, sealing, signing);
  routeBackchannelLogout(provider, backchannelDelivery({ store, sealing, log, background: false }));
  return createSignOut({
    store,
    sealing,
    provider: () => provider,
    revoke: (uid) => recordRevokedSession(store, uid, revocationLifetimeMs(config.ttl.accessToken)),
    log,
  });
}
