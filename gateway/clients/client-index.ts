/**
 * An index of every client id ever stored, so `npx gateway clients list` can enumerate clients:
 * the store contract has no key scan (Redis Cluster makes one costly and keyv has none).
 *
 * The index is a store set, written through oidc-provider's own adapter, so clients registered over
 * HTTP (RFC 7591) join it as well as those added by the CLI or the clients file. The id joins the
 * set before the record is written (as the adapter does for grants), so a stored client is always
 * listed. The contract has no set removal, so a removed client's id stays in the set; readers
 * keep only the ids whose record still exists.
 */
import type { Adapter } from 'oidc-provider';
import type { Store } from '../../adapters/store.ts';

const INDEX_KEY = 'clients:index';

/** Sets always expire in the store contract; a century is "never" for a client list. */
const INDEX_TTL_MS = 100 * 365 * 24 * 60 * 60 * 1000;

/** Wraps oidc-provider's adapter factory so that every client write also indexes its id. */
export function withClientIndex(factory: (name: string) => Adapter, store: Store): (name: string) => Adapter {
  return (name) => {
    const adapter = factory(name);
    if (name !== 'Client') return adapter;
    // Every method delegated by name: a spread would drop the methods of a class-based adapter.
    return {
      async upsert(id, payload, expiresIn) {
        await store.addToSet(INDEX_KEY, id, INDEX_TTL_MS);
        await adapter.upsert(id, payload, expiresIn);
      },
      find: (id) => adapter.find(id),
      findByUid: (uid) => adapter.findByUid(uid),
      findByUserCode: (userCode) => adapter.findByUserCode(userCode),
      consume: (id) => adapter.consume(id),
      destroy: (id) => adapter.destroy(id),
      revokeByGrantId: (grantId) => adapter.revokeByGrantId(grantId),
    };
  };
}

/** Every id in the index (some may have been removed since). */
export async function indexedClientIds(store: Store): Promise<string[]> {
  return store.setMembers(INDEX_KEY);
}
