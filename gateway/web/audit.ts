/**
 * Audit events: one structured line on the log stream per security-relevant event, all of the
 * same shape, so an operator selects them with `jq 'select(.audit)'` and switches on
 * `.audit`: `{"audit":"token.refreshed","client_id":"…","sub":"…","msg":"…"}`.
 *
 * This file owns that shape: every audit line, the CLI's included, is written by {@link audit}.
 *
 * Fields name who and what (client ids, the user's `sub`, grant types, key ids, field names),
 * never a value that grants access: no token, code, secret, cookie or password ever appears,
 * and the logger's redaction (logger.ts) stands behind that as a second line.
 */

/** Every audit event the gateway writes. */
export type AuditEvent =
  /** A user signed in at the upstream identity provider. */
  | 'sign_in'
  /** A sign-in at the upstream was refused or failed (`reason`). */
  | 'sign_in.refused'
  /** An SSO session ended (`via`: forward_auth, rp_initiated_logout). */
  | 'sign_out'
  /** The token endpoint issued tokens for a new grant (authorization code, client credentials). */
  | 'token.issued'
  /** A refresh token was exchanged (and rotated). */
  | 'token.refreshed'
  /** An upstream token was exchanged for a gateway token (RFC 8693). */
  | 'token.exchanged'
  /** A client revoked a token at the revocation endpoint (RFC 7009). */
  | 'token.revoked'
  /** A grant and every token of it were revoked (revocation, logout, code or refresh token reuse). */
  | 'grant.revoked'
  /** A rotated refresh token was presented again after the grace period (RFC 9700 §4.14.2). */
  | 'refresh_token.reuse_detected'
  /** A client or address went past a failure limit or the sign-in budget (`limit`, `key`) and is refused for a while. */
  | 'limit.refused'
  | 'client.registered'
  | 'client.updated'
  | 'client.secret_rotated'
  | 'client.removed'
  /** The signing keys were rotated (a new pair published, to sign after the roll-in). */
  | 'key.rotated'
  /** An operator ended every session of one user (`npx gateway users sign-out`). */
  | 'account.signed_out'
  /** An operator linked another upstream identity to an account (`npx gateway users link`). */
  | 'account.linked'
  /** An operator disabled an account (`npx gateway users disable`): its sessions ended with it. */
  | 'account.disabled'
  /** An operator enabled a disabled account again. */
  | 'account.enabled'
  /** An operator ended one session (`npx gateway sessions end`). */
  | 'session.ended';

/** The logger shape audit events need: pino's on a gateway, the CLI's own (cli/cli-log.ts). */
export interface AuditSink {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

/** Events that signal an attack or a compromise: logged at warn. */
const WARNINGS = new Set<AuditEvent>(['refresh_token.reuse_detected', 'limit.refused']);

/** Writes one audit event. `fields` must never hold a token, code, secret or cookie. */
export function audit(log: AuditSink, event: AuditEvent, fields: Record<string, unknown>, message: string): void {
  const line = { audit: event, ...fields };
  if (WARNINGS.has(event)) log.warn(line, message);
  else log.info(line, message);
}
