/**
 * An oidc-provider configured exactly as the gateway's, by the gateway's own `createProvider`, for
 * a process that never serves a request (the operator CLI): it validates clients as a running
 * gateway will read them (open-client-registry.ts), and signs logout tokens as a running gateway
 * signs them (cli-sign-out.ts). It finds clients in the store the gateways share (a gateway's
 * statically configured clients are in that store too, from GATEWAY_CLIENTS_FILE) and no account.
 */
import type Provider from 'oidc-provider';
import type { Config } from '../../config/config-type.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import type { PrivateJwk } from '../keys/signing-keys.ts';
import { createProvider } from '../provider/create-provider.ts';

/** `signingKeys` decide what it signs with, and which algorithms a client may ask for. */
export function createOfflineProvider(
  config: Config,
  store: Store,
  sealing: Sealing,
  signingKeys: readonly PrivateJwk[],
): Provider {
  const quiet = { error() {}, info() {} };
  return createProvider({
    config,
    store,
    sealing,
    signingKeys,
    cookieSecrets: ['unused: this provider never sets a cookie'],
    findAccount: async () => undefined,
    clients: [],
    upstreamLinkAlive: async () => true,
    extraTokenClaims: undefined,
    log: quiet,
  });
}
