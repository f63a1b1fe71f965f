/**
 * The gateway's Prometheus metrics. One set per gateway app (tests build many apps in one
 * process), plus the process' own metrics (memory, CPU, event-loop lag) once per process.
 *
 * Every label value comes from a fixed set (route patterns, grant types the gateway knows, error
 * codes oidc-provider defines, operation names), never from a request as sent, so a caller cannot
 * create series; and no label names a user, a client or a token.
 */
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT } from '../web/grant-types.ts';
import { HttpMetrics } from './http-metrics.ts';

/** Why a sign-in at the upstream did not complete. */
export type SignInFailureReason =
  /** The callback's state is missing, not this browser's, expired or already used (RFC 6749 §10.12). */
  | 'invalid_state'
  /** The upstream answered with an error (the user cancelled, or the upstream refused). */
  | 'upstream_refused'
  /** The code exchange, the ID token or userinfo did not verify, or the upstream was unreachable. */
  | 'upstream_unverified'
  /** Userinfo refused the code grant's access token (401) and no refresh token could replace it. */
  | 'upstream_token_refused'
  /** The upstream did not say who the user is (no `sub`). */
  | 'no_subject'
  /** The identity is not allowed: unverified e-mail, Workspace domain, e-mail domain. */
  | 'policy';

/** Grant types used as label values; anything else a client sends counts as `other`. */
const KNOWN_GRANT_TYPES = new Set([
  'authorization_code',
  'refresh_token',
  'client_credentials',
  TOKEN_EXCHANGE_GRANT,
  DEVICE_CODE_GRANT,
]);

/** A grant type safe to use as a label value. */
export function grantTypeLabel(value: unknown): string {
  return typeof value === 'string' && KNOWN_GRANT_TYPES.has(value) ? value : 'other';
}

/** Operation latency buckets (seconds) for the store and the upstream. */
const CALL_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

export interface GatewayMetrics {
  readonly registry: Registry;
  readonly http: HttpMetrics;
  readonly signIns: Counter;
  readonly signInFailures: Counter<'reason'>;
  readonly tokensIssued: Counter<'grant_type' | 'token_type'>;
  readonly tokenErrors: Counter<'grant_type' | 'error'>;
  readonly upstreamRequests: Counter<'operation' | 'outcome'>;
  readonly upstreamDuration: Histogram<'operation'>;
  readonly storeDuration: Histogram<'operation'>;
  readonly storeErrors: Counter<'operation'>;
  readonly rateLimited: Counter<'limit'>;
  readonly csrfRefused: Counter<'form'>;
  readonly serverErrors: Counter<'source'>;
  /** Everything, in the Prometheus text format. */
  render(): Promise<string>;
}

let processRegistry: Registry | undefined;

/** The process' own metrics, collected once however many gateway apps this process builds. */
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** Creates the metrics of one gateway app. */
export function createGatewayMetrics(): GatewayMetrics {
  const registry = new Registry();
  const registers = [registry];
  const http = new HttpMetrics();
  const metrics: GatewayMetrics = {
    registry,
    http,
    signIns: new Counter({
      name: 'gateway_sign_ins_total',
      help: 'Sign-ins completed at the upstream identity provider.',
      registers,
    }),
    signInFailures: new Counter({
      name: 'gateway_sign_in_failures_total',
      help: 'Sign-ins at the upstream that did not complete, by reason: invalid_state, upstream_refused, upstream_unverified, upstream_token_refused, no_subject, policy.',
      labelNames: ['reason'] as const,
      registers,
    }),
    tokensIssued: new Counter({
      name: 'gateway_tokens_issued_total',
      help: 'Tokens issued by the token endpoint, by grant type and token type (access_token, id_token, refresh_token).',
      labelNames: ['grant_type', 'token_type'] as const,
      registers,
    }),
    tokenErrors: new Counter({
      name: 'gateway_token_errors_total',
      help: 'Token requests refused, by grant type and OAuth error code (RFC 6749 section 5.2).',
      labelNames: ['grant_type', 'error'] as const,
      registers,
    }),
    upstreamRequests: new Counter({
      name: 'gateway_upstream_requests_total',
      help: 'Calls to the upstream identity provider, by operation (discovery, code_exchange, userinfo, refresh) and outcome (ok, error).',
      labelNames: ['operation', 'outcome'] as const,
      registers,
    }),
    upstreamDuration: new Histogram({
      name: 'gateway_upstream_request_duration_seconds',
      help: 'Latency of calls to the upstream identity provider, by operation.',
      labelNames: ['operation'] as const,
      buckets: CALL_BUCKETS,
      registers,
    }),
    storeDuration: new Histogram({
      name: 'gateway_store_operation_duration_seconds',
      help: 'Latency of store operations, by operation.',
      labelNames: ['operation'] as const,
      buckets: CALL_BUCKETS,
      registers,
    }),
    storeErrors: new Counter({
      name: 'gateway_store_errors_total',
      help: 'Store operations that failed (the store unreachable, stalled or closed), by operation.',
      labelNames: ['operation'] as const,
      registers,
    }),
    rateLimited: new Counter({
      name: 'gateway_limit_refusals_total',
      help: 'Clients or addresses refused (429) for too many failures or sign-ins, by limit; counted once per refusal window.',
      labelNames: ['limit'] as const,
      registers,
    }),
    csrfRefused: new Counter({
      name: 'gateway_csrf_refusals_total',
      help: 'Form posts refused because their CSRF token was missing or wrong, or they came from another site, by form.',
      labelNames: ['form'] as const,
      registers,
    }),
    serverErrors: new Counter({
      name: 'gateway_server_errors_total',
      help: 'Unexpected errors (answered 5xx), by source: gateway routes or the OpenID Provider.',
      labelNames: ['source'] as const,
      registers,
    }),
    async render() {
      const own = await registry.metrics();
      const process = await processMetrics().metrics();
      return `${http.render()}\n${own}\n${process}`;
    },
  };
  return metrics;
}
