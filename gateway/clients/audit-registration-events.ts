/**
 * The audit events of dynamic registration (RFC 7591/7592), from oidc-provider's own events:
 * `registration_create.success`, `registration_update.success`, `registration_delete.success`,
 * and the refusals (`*.error`) at info level with the error code and description only (the
 * description never holds a secret: oidc-provider and the policy describe fields, not tokens).
 */
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import type { Store } from '../../adapters/store.ts';
import type { AuditSink } from '../web/audit.ts';
import { auditClientEvent, changedFields, type ClientActor } from './audit-client-event.ts';
import { forgetPreviousSecrets } from './previous-secrets.ts';

interface EventClient {
  clientId: string;
  metadata(): object;
}

type Listener = (ctx: KoaContextWithOIDC, subject: never) => void;

function actorOf(ctx: KoaContextWithOIDC): ClientActor {
  return { via: 'registration', ip: ctx.ip };
}

export function auditRegistrationEvents(provider: Provider, store: Store, log: AuditSink): void {
  const on = provider.on.bind(provider) as (event: string, listener: Listener) => void;

  on('registration_create.success', (ctx, client: EventClient) => {
    auditClientEvent(log, 'client.registered', {
      clientId: client.clientId,
      actor: actorOf(ctx),
      fields: Object.keys((ctx.oidc.body ?? {}) as object),
    });
  });

  on('registration_update.success', (ctx, client: EventClient) => {
    // `client` is the record before the update; the response body is the record after it.
    const after = { ...(ctx.body as Record<string, unknown>) };
    auditClientEvent(log, 'client.updated', {
      clientId: client.clientId,
      actor: actorOf(ctx),
      fields: changedFields(client.metadata() as Record<string, unknown>, after),
    });
  });

  on('registration_delete.success', (ctx, client: EventClient) => {
    auditClientEvent(log, 'client.removed', { clientId: client.clientId, actor: actorOf(ctx) });
    forgetPreviousSecrets(store, client.clientId).catch((error: unknown) => {
      log.warn(
        { err: error, client_id: client.clientId },
        "could not forget the removed client's previous secrets (they expire by themselves)",
      );
    });
  });

  for (const event of [
    'registration_create.error',
    'registration_read.error',
    'registration_update.error',
    'registration_delete.error',
  ]) {
    on(event, (_ctx, error: { error?: string; error_description?: string; status?: number }) => {
      if ((error.status ?? 400) < 500)
        log.info(
          { event, error: error.error, description: error.error_description },
          'client registration request refused',
        );
    });
  }
}
