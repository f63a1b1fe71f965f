/**
 * Sign-ins at the upstream identity provider, as metrics (`gateway_sign_ins_total`,
 * `gateway_sign_in_failures_total{reason}`) and audit events (`sign_in`, `sign_in.refused`).
 * The upstream callback (upstream/upstream-login.ts) reports each outcome here.
 */
import type { FastifyRequest } from 'fastify';
import { audit, type AuditSink } from '../web/audit.ts';
import type { GatewayMetrics, SignInFailureReason } from './gateway-metrics.ts';

export type { SignInFailureReason } from './gateway-metrics.ts';

/** Which upstream a sign-in went through: its issuer (`upstream`) and the operator's id (`upstream_id`). */
export interface SignInUpstream {
  id: string;
  issuer: string;
}

export interface SignInEvents {
  /** The user `sub` (the gateway's own subject) signed in. */
  succeeded(request: FastifyRequest, upstream: SignInUpstream, sub: string): void;
  /** A sign-in did not complete; `detail` is safe to log (never a token or code). */
  failed(request: FastifyRequest, upstream: SignInUpstream, reason: SignInFailureReason, detail?: string): void;
}

export function createSignInEvents(
  metrics: Pick<GatewayMetrics, 'signIns' | 'signInFailures'>,
  log: AuditSink,
): SignInEvents {
  return {
    succeeded(request, upstream, sub) {
      metrics.signIns.inc();
      audit(
        log,
        'sign_in',
        { sub, upstream: upstream.issuer, upstream_id: upstream.id, ip: request.ip },
        'signed in through the upstream',
      );
    },
    failed(request, upstream, reason, detail) {
      metrics.signInFailures.inc({ reason });
      audit(
        log,
        'sign_in.refused',
        { reason, ...(detail ? { detail } : {}), upstream: upstream.issuer, upstream_id: upstream.id, ip: request.ip },
        'sign-in at the upstream did not complete',
      );
    },
  };
}
