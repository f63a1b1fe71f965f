/**
 * Client records written before records were sealed keep their `client_secret` in clear in the
 * store. Once per store, at a gateway's start, every indexed client is sealed in place (its
 * metadata and expiry unchanged), each under the lock the registry's writes take, so an
 * operator's change made meanwhile is never overwritten with the older record. Left open: a
 * client updated over RFC 7592 (which takes no lock) in the very instant its record is sealed.
 *
 * A marker then records that the pass is done, so later starts read no client at all.
 */
import { sealLegacyRecord } from '../../adapters/oidc-adapter.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { withLock } from '../../adapters/with-lock.ts';
import { indexedClientIds } from './client-index.ts';
import { clientLockKey } from './client-registry.ts';

const DONE_KEY = 'clients:sealed';

/** Seals every client record still in clear; returns how many it sealed. */
export async function sealLegacyClients(store: Store, sealing: Sealing): Promise<number> {
  if ((await store.get(DONE_KEY)) !== undefined) return 0;
  let sealed = 0;
  for (const clientId of await indexedClientIds(store)) {
    if (await withLock(store, clientLockKey(clientId), () => sealLegacyRecord(store, sealing, 'Client', clientId)))
      sealed += 1;
  }
  await store.set(DONE_KEY, 1);
  return sealed;
}
