/**
 * Loads GATEWAY_CLIENTS_FILE into the shared store, through the same registry (and policy) as the
 * CLI and dynamic registration.
 */
import type Provider from 'oidc-provider';
import type { Config } from '../../config/config-type.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import type { AuditSink } from '../web/audit.ts';
import { createClientRegistry } from './client-registry.ts';
import { readClientsFile } from './read-clients-file.ts';

export interface SyncClientsFileDeps {
  provider: Provider;
  store: Store;
  sealing: Sealing;
  config: Pick<Config, 'clientsFile' | 'secretRotationGrace' | 'outboundPrivateHosts'>;
  log: AuditSink;
}

/** Loads GATEWAY_CLIENTS_FILE into the shared store (once per start). */
export async function syncClientsFile(deps: SyncClientsFileDeps): Promise<void> {
  const { provider, store, sealing, config, log } = deps;
  if (config.clientsFile === undefined) return;
  const registry = createClientRegistry({
    provider,
    store,
    sealing,
    log,
    secretRotationGrace: config.secretRotationGrace,
    policy: config,
  });
  const result = await registry.syncFile(readClientsFile(config.clientsFile), config.clientsFile);
  log.info(
    {
      file: config.clientsFile,
      added: result.added.length,
      updated: result.updated.length,
      removed: result.removed.length,
      unchanged: result.unchanged.length,
    },
    'clients file loaded',
  );
}
