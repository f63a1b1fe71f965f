/**
 * What a running provider does for clients beside its configuration (registration-features.ts):
 * accept previous secrets during their grace period, and write the audit events of dynamic
 * registration. A gateway that rebuilds its provider (key rotation) installs them again.
 */
import type Provider from 'oidc-provider';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import type { AuditSink } from '../web/audit.ts';
import { auditRegistrationEvents } from '../clients/audit-registration-events.ts';
import { acceptPreviousSecrets } from './accept-previous-secrets.ts';

export function installClientHooks(provider: Provider, store: Store, sealing: Sealing, log: AuditSink): void {
  acceptPreviousSecrets(provider, store, sealing);
  auditRegistrationEvents(provider, store, log);
}
