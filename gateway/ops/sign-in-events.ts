/**
 * Sign-ins at the upstream identity provider, as metrics (`gateway_sign_ins_total`,
 * `gateway_sign_in_failures_total{reason}`) and audit events (`sign_in`, `sign_in.refused`).
 * The upstream callback (upstream/upstream-login.ts) reports each outcome here.
 */
import type { FastifyRequest } from 'fastify';
import { audit, type AuditSink } from '../web/audit.ts';
import type { GatewayMetrics, SignInFailureReason } from './gateway-metrics.ts';

export type { SignInFailureReason } from './gateway-metrics.ts';

export interface SignInEvents {
  /** The user `sub` (the gateway's own subject) signed in. */
  succeeded(request: FastifyRequest, sub: string): void;
  /** A sign-in did not complete; `detail` is safe to log (never a token or code). */
  failed(request: FastifyRequest, reason: SignInFailureReason, detail?: string): void;
}

export function createSignInEvents(
  metrics: Pick<GatewayMetrics, 'signIns' | 'signInFailures'>,
  log: AuditSink,
  upstreamIssuer: string,
): SignInEvents {
  return {
    succeeded(request, sub) {
      metrics.signIns.inc();
      audit(log, 'sign_in', { sub, upstream: upstreamIssuer, ip: request.ip }, 'signed in through the upstream');
    },
    failed(request, reason, detail) {
      metrics.signInFailures.inc({ reason });
      audit(
        log,
        'sign_in.refused',
        { reason, ...(detail ? { detail } : {}), upstream: upstreamIssuer, ip: request.ip },
        'sign-in at the upstream did not complete',
      );
    },
  };
}
