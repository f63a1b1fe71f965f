/**
 * The client registry for a process that is not a gateway (the operator CLI): the store the
 * gateways use (opened from the same settings by with-cli-store.ts), and an oidc-provider built as the gateway's
 * (offline-provider.ts), so a client is validated exactly as a running gateway will read it. That
 * provider never serves a request; its signing keys are throwaway keys of the gateway's key
 * types (they decide which ID token algorithms a client may ask for), so the CLI reads no private
 * key and writes none. Client records are sealed at rest, so the CLI opens the store's sealing
 * with the gateways' GATEWAY_SECRETS.
 */
import { randomBytes } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import type Provider from 'oidc-provider';
import type { Config } from '../../config/config-type.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import type { PrivateJwk } from '../keys/signing-keys.ts';
import { createStoreSealing, loadStoreSealingFor } from '../keys/store-sealing.ts';
import type { AuditSink } from '../web/audit.ts';
import { checkClientsFile, createClientRegistry, type ClientRegistry } from '../clients/client-registry.ts';
import { readClientsFile } from '../clients/read-clients-file.ts';
import { createOfflineProvider } from './offline-provider.ts';

async function throwawayKey(alg: 'ES256' | 'RS256'): Promise<PrivateJwk> {
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(privateKey);
  return { ...jwk, kid: await calculateJwkThumbprint(jwk), alg, use: 'sig' };
}

/** An oidc-provider configured as the gateway's, for validating clients only (never served). */
export async function createValidationProvider(config: Config, store: Store, sealing: Sealing): Promise<Provider> {
  return createOfflineProvider(config, store, sealing, [await throwawayKey('ES256'), await throwawayKey('RS256')]);
}

/** A registry on `store`, the store the gateways share (opened by with-cli-store.ts). */
export async function clientRegistryOn(config: Config, store: Store, log: AuditSink): Promise<ClientRegistry> {
  const sealing = await loadStoreSealingFor(config, store);
  const provider = await createValidationProvider(config, store, sealing);
  return createClientRegistry({
    provider,
    store,
    sealing,
    log,
    secretRotationGrace: config.secretRotationGrace,
    policy: config,
  });
}

/**
 * Checks GATEWAY_CLIENTS_FILE as a gateway would at start, without opening the real store
 * (`npx gateway config check`). Returns how many clients it holds; throws a ClientRegistryError.
 */
export async function checkClientsFileOffline(config: Config, path: string): Promise<number> {
  const { createMemoryStore } = await import('../../adapters/memory-store.ts');
  const store = createMemoryStore();
  try {
    // Nothing is written: a throwaway data key is enough.
    const provider = await createValidationProvider(config, store, createStoreSealing(randomBytes(32)));
    return checkClientsFile(provider, readClientsFile(path), path, config).length;
  } finally {
    await store.close();
  }
}
