/**
 * The store as the gateway uses it: the secrets (GATEWAY_SECRETS, or in development ones kept in
 * the store) and the data key they wrap, under which every record is sealed or hashed. Says in the
 * start log what a restart of the store would cost and when the data key was made or rewrapped.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/config-type.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { sealLegacyClients } from '../clients/seal-legacy-clients.ts';
import { loadCookieSecrets } from '../keys/cookie-secrets.ts';
import { loadStoreSealing } from '../keys/store-sealing.ts';
import { reportStorePersistence } from '../ops/report-store-persistence.ts';

export interface SecuredStore {
  /** The secrets in use, newest first (cookies, CSRF tokens, derived client secrets). */
  secrets: readonly string[];
  sealing: Sealing;
  /** The data key itself: an emptied store gets it back (keys/restore-emptied-store.ts). */
  dataKey: Buffer;
}

export async function secureStore(app: FastifyInstance, config: Config, store: Store): Promise<SecuredStore> {
  if (config.production) await reportStorePersistence(store, app.log);
  const secrets = await loadCookieSecrets(config, store);
  const { sealing, rewrapped, created, key } = await loadStoreSealing(store, secrets);
  if (rewrapped)
    app.log.info(
      { event: 'data_key_rewrapped' },
      "the store's data key opened with an older GATEWAY_SECRETS entry and is now wrapped with the first",
    );
  // A first start and a store that lost its data look the same from here: say both.
  if (created && config.production) {
    app.log.warn(
      { event: 'data_key_created' },
      'the store had no data key, so a new one was made: expected on the first start on this store; ' +
        'otherwise the store has lost its data (a Redis restart without persistence?) and every session, account and client registered through the API or the CLI with it',
    );
  }
  // Clients stored by an earlier version have their secret in clear: sealed once per store.
  const legacyClients = await sealLegacyClients(store, sealing);
  if (legacyClients > 0)
    app.log.info(
      { event: 'clients_sealed', count: legacyClients },
      'client records stored in clear by an earlier version are sealed now',
    );
  return { secrets, sealing, dataKey: key };
}
