/**
 * The audit trail of client registrations, written through web/audit.ts: one event per registration, update,
 * secret rotation and removal, whichever door it came through. Each says who (the door and what is
 * known of the caller: the operator's login name, the HTTP peer, the clients file), what (the
 * event, the client id and the names of the fields that changed) and when (`at`, besides the
 * logger's own timestamp). Never a value: no secret, no token, and no metadata value, which keeps
 * the trail safe to ship anywhere.
 */
import { audit, type AuditEvent, type AuditSink } from '../web/audit.ts';

/** What happened to a client. */
export type ClientAuditEvent = Extract<AuditEvent, `client.${string}`>;

/** Who did it. */
export interface ClientActor {
  via: 'registration' | 'cli' | 'file';
  /** The operator's login name (CLI). */
  user?: string;
  /** The HTTP peer (dynamic registration), as the trusted proxies report it. */
  ip?: string;
  /** The clients file (GATEWAY_CLIENTS_FILE). */
  file?: string;
}

export interface ClientAuditDetails {
  clientId: string;
  actor: ClientActor;
  /** Names of the metadata fields set or changed (never their values). */
  fields?: readonly string[];
  /** When a rotated-out secret stops working (ISO 8601). */
  previousSecretValidUntil?: string;
}

const MESSAGES: Record<ClientAuditEvent, string> = {
  'client.registered': 'client registered',
  'client.updated': 'client updated',
  'client.secret_rotated': 'client secret rotated',
  'client.removed': 'client removed',
};

/** Fields that are secrets or bookkeeping, never listed even by name as "changed". */
const UNLISTED = new Set([
  'client_secret',
  'registration_access_token',
  'registration_client_uri',
  'client_id',
  'client_id_issued_at',
  'client_secret_expires_at',
]);

/** Logs one audit event. */
export function auditClientEvent(
  log: AuditSink,
  event: ClientAuditEvent,
  details: ClientAuditDetails,
  now = new Date(),
): void {
  audit(
    log,
    event,
    {
      client_id: details.clientId,
      actor: details.actor,
      ...(details.fields ? { fields: details.fields.filter((field) => !UNLISTED.has(field)) } : {}),
      ...(details.previousSecretValidUntil ? { previous_secret_valid_until: details.previousSecretValidUntil } : {}),
      at: now.toISOString(),
    },
    MESSAGES[event],
  );
}

/** The names of the fields whose values differ between two metadata documents. */
export function changedFields(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((key) => JSON.stringify(before[key]) !== JSON.stringify(after[key])).sort();
}
