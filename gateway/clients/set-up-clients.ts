/**
 * Everything a running gateway does for client registration beside oidc-provider's configuration
 * (registration-features.ts): accept previous secrets during their grace period, write the audit
 * events of dynamic registration, and load GATEWAY_CLIENTS_FILE into the shared store.
 */
import type Provider from 'oidc-provider';
import type { Config } from '../../config/config-type.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { acceptPreviousSecrets } from './accept-previous-secrets.ts';
import type { AuditLogger } from './audit-client-event.ts';
import { auditRegistrationEvents } from './audit-registration-events.ts';
import { createClientRegistry } from './client-registry.ts';
import { readClientsFile } from './read-clients-file.ts';

export interface SetUpClientsDeps {
  provider: Provider;
  store: Store;
  sealing: Sealing;
  config: Pick<Config, 'clientsFile' | 'secretRotationGrace' | 'outboundPrivateHosts'>;
  log: AuditLogger & { warn(obj: object, msg: string): void };
}

/**
 * Installs the hooks and syncs the clients file. A bad file throws a ClientRegistryError whose
 * message names the file, the entry and what to fix, and nothing of the file is written.
 */
export async function setUpClients(deps: SetUpClientsDeps): Promise<void> {
  const { provider, store, sealing, log } = deps;
  installClientHooks(provider, store, sealing, log);
  await syncClientsFile(deps);
}

/** The per-provider part: a gateway that rebuilds its provider (key rotation) installs it again. */
export function installClientHooks(
  provider: Provider,
  store: Store,
  sealing: Sealing,
  log: SetUpClientsDeps['log'],
): void {
  acceptPreviousSecrets(provider, store, sealing);
  auditRegistrationEvents(provider, store, log);
}

/** Loads GATEWAY_CLIENTS_FILE into the shared store (once per start). */
export async function syncClientsFile(deps: SetUpClientsDeps): Promise<void> {
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
