/**
 * The keys everything at rest is sealed and hashed with, derived by HKDF (RFC 5869) from the
 * store's data key (data-key.ts) with one `info` per purpose, so the encryption key and the hash
 * key are independent and neither is the data key itself.
 */
import { createHmac, createSecretKey, hkdfSync } from 'node:crypto';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import type { Config } from '../../config/config-type.ts';
import { loadCookieSecrets } from './cookie-secrets.ts';
import { loadDataKey, type LoadedDataKey } from './data-key.ts';
import { createSecretBox } from './secret-box.ts';

function derive(dataKey: Uint8Array, purpose: string): Buffer {
  return Buffer.from(hkdfSync('sha256', dataKey, 'gateway', purpose, 32));
}

/** The sealing under one data key. */
export function createStoreSealing(dataKey: Uint8Array): Sealing {
  const box = createSecretBox([derive(dataKey, 'gateway sealed values v1')]);
  // A KeyObject, made once: HMAC with a raw Buffer key imports the key on every call, five
  // times the cost of the hash (docs/PERFORMANCE.md), and every store access hashes an id.
  const idKey = createSecretKey(derive(dataKey, 'gateway id hash v1'));
  return {
    seal: (value) => box.seal(value),
    open: <T>(sealed: string) => box.open<T>(sealed),
    hashId: (id) => createHmac('sha256', idKey).update(id, 'utf8').digest('base64url'),
  };
}

/**
 * The sealing of the store's data key, opened with `secrets` (GATEWAY_SECRETS, newest first), with
 * the data key as loaded. Throws DataKeyError when none of them opens it.
 */
export async function loadStoreSealing(
  store: Store,
  secrets: readonly string[],
): Promise<LoadedDataKey & { sealing: Sealing }> {
  const loaded = await loadDataKey(store, secrets);
  return { ...loaded, sealing: createStoreSealing(loaded.key) };
}

/**
 * For a process that is not a gateway (the operator CLI): the sealing a gateway with the same
 * settings uses, so the CLI reads and writes what the gateways do. Throws DataKeyError when its
 * GATEWAY_SECRETS are not theirs.
 */
export async function loadStoreSealingFor(config: Config, store: Store): Promise<Sealing> {
  return (await loadStoreSealing(store, await loadCookieSecrets(config, store))).sealing;
}
