/**
 * What the gateway hangs on each oidc-provider instance for operations (build-gateway.ts calls
 * this for every instance, the first and each one built after a key rotation):
 *
 * - metrics from oidc-provider's events (its own docs/events.md, in the oidc-provider package): tokens issued by grant type and token
 *   type (`grant.success`), token requests refused by error code (`grant.error`), server errors;
 * - audit events: tokens issued, refreshed and exchanged, tokens and grants revoked, sign-out at
 *   the end-session endpoint;
 * - an outermost Koa middleware ({@link providerEdge}): the security headers
 *   (security-headers.ts); a well-formed answer where Koa would write a bare text one,
 *   problem+json for a path no endpoint serves (Koa's default is `text/plain` "Not Found"), and
 *   RFC 6749 `server_error` JSON for an error that escaped every handler (Koa's default writes its
 *   message as text/plain and logs a stack to stderr). No stack or message of an unexpected error
 *   reaches a body.
 */
import type Provider from 'oidc-provider';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { audit, type AuditSink } from '../web/audit.ts';
import { TOKEN_EXCHANGE_GRANT } from '../web/grant-types.ts';
import { grantTypeLabel, type GatewayMetrics } from './gateway-metrics.ts';
import { providerSecurityHeaders } from './security-headers.ts';

export interface ObserveProviderDeps {
  metrics: Pick<GatewayMetrics, 'tokensIssued' | 'tokenErrors' | 'serverErrors'>;
  log: AuditSink & { error(obj: object, msg: string): void; debug(obj: object, msg: string): void };
}

const TOKEN_TYPES = ['access_token', 'id_token', 'refresh_token'] as const;

type Listener = (...args: never[]) => void;

function accountOf(ctx: KoaContextWithOIDC): string | undefined {
  const { oidc } = ctx;
  return (
    oidc.account?.accountId ??
    oidc.entities.AuthorizationCode?.accountId ??
    oidc.entities.RefreshToken?.accountId ??
    oidc.session?.accountId
  );
}

/** What {@link providerEdge} reports. */
export interface EdgeDeps {
  /** An error escaped every handler (answered 500 `server_error`). */
  onError(error: unknown, path: string): void;
  /** A client revoked a token (RFC 7009). */
  onRevocation?(clientId: string | undefined): void;
}

type EdgeContext = KoaContextWithOIDC & { protocol: string; host: string };

/**
 * The outermost Koa middleware of an oidc-provider (the gateway's, and the development IdP's):
 * security headers, a 400 for a Host (or trusted X-Forwarded-Host) that is no host name (the
 * provider would fail building its URLs from it), problem+json where Koa would answer a bare
 * 404, and `server_error` JSON for an error that escaped every handler.
 */
export function providerEdge(deps: EdgeDeps) {
  return async function gatewayEdge(ctx: EdgeContext, next: () => Promise<unknown>): Promise<void> {
    const origin = URL.parse(`${ctx.protocol}://${ctx.host}`);
    if (origin === null || origin.hostname === '') {
      ctx.status = 400;
      ctx.set('cache-control', 'no-store');
      ctx.body = { error: 'invalid_request', error_description: 'The Host header is not a valid host name.' };
      return;
    }
    try {
      await providerSecurityHeaders(ctx, next);
    } catch (error) {
      deps.onError(error, ctx.path);
      if (ctx.headerSent) return;
      ctx.status = 500;
      ctx.set('cache-control', 'no-store');
      ctx.body = { error: 'server_error', error_description: 'The gateway could not complete this request.' };
      return;
    }
    // Nothing answered: no endpoint at this path (Koa leaves 404 with no body).
    if (ctx.status === 404 && ctx.body == null) {
      ctx.body = {
        type: 'urn:gateway:error:not_found',
        title: 'not_found',
        status: 404,
        detail: 'There is nothing at this address.',
      };
      ctx.status = 404;
      ctx.type = 'application/problem+json';
      ctx.set('cache-control', 'no-store');
    }
    const oidc = (ctx as { oidc?: KoaContextWithOIDC['oidc'] }).oidc;
    if (oidc?.route === 'revocation' && ctx.status === 200) deps.onRevocation?.(oidc.client?.clientId);
  };
}

/** The outermost middleware, put before every other one (provider.use appends). */
export function prependEdge(provider: Provider, edge: ReturnType<typeof providerEdge>): void {
  // A Provider is the Koa application: its middleware list is Koa's own, composed by callback().
  provider.middleware.unshift(edge as unknown as (typeof provider.middleware)[number]);
}

/** Attaches metrics, audit events and the outermost middleware to `provider`; returns it. */
/**
 * The client hung up while its request was being read (a huge Content-Length, then close): no
 * server fault, so neither an error line nor `gateway_server_errors_total`, which anyone could
 * otherwise raise at will.
 */
export function isClientAbort(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  return (
    code === 'ECONNRESET' || code === 'ECONNABORTED' || code === 'ERR_STREAM_PREMATURE_CLOSE' || message === 'aborted'
  );
}

export function observeProvider(provider: Provider, deps: ObserveProviderDeps): Provider {
  const { metrics, log } = deps;
  const on = provider.on.bind(provider) as (event: string, listener: Listener) => void;

  on('grant.success', (ctx: KoaContextWithOIDC) => {
    const grantType = String(ctx.oidc.params?.['grant_type'] ?? '');
    const label = grantTypeLabel(grantType);
    const body = (ctx.body ?? {}) as Record<string, unknown>;
    for (const tokenType of TOKEN_TYPES) {
      if (typeof body[tokenType] === 'string') metrics.tokensIssued.inc({ grant_type: label, token_type: tokenType });
    }
    // The token exchange grant writes its own audit event (token.exchanged).
    if (grantType === TOKEN_EXCHANGE_GRANT) return;
    const fields = {
      client_id: ctx.oidc.client?.clientId,
      sub: accountOf(ctx),
      grant_type: label,
      issued: TOKEN_TYPES.filter((tokenType) => typeof body[tokenType] === 'string'),
    };
    if (grantType === 'refresh_token') audit(log, 'token.refreshed', fields, 'tokens refreshed');
    else audit(log, 'token.issued', fields, 'tokens issued');
  });

  on('grant.error', (ctx: KoaContextWithOIDC, error: { error?: string; status?: number }) => {
    metrics.tokenErrors.inc({
      grant_type: grantTypeLabel(ctx.oidc?.params?.['grant_type']),
      error: error.error ?? 'unknown',
    });
  });

  on('grant.revoked', (ctx: KoaContextWithOIDC) => {
    audit(
      log,
      'grant.revoked',
      { client_id: ctx.oidc?.client?.clientId, route: ctx.oidc?.route },
      'grant revoked with all its tokens',
    );
  });

  on('end_session.success', (ctx: KoaContextWithOIDC) => {
    audit(
      log,
      'sign_out',
      { via: 'rp_initiated_logout', client_id: ctx.oidc.client?.clientId, sub: ctx.oidc.session?.accountId },
      'signed out at the end-session endpoint',
    );
  });

  on('server_error', (_ctx: unknown, error: unknown) => {
    if (!isClientAbort(error)) metrics.serverErrors.inc({ source: 'provider' });
  });

  prependEdge(
    provider,
    providerEdge({
      onError(error, path) {
        if (isClientAbort(error)) {
          log.debug({ path }, 'the client went away before its request was read');
          return;
        }
        metrics.serverErrors.inc({ source: 'provider' });
        log.error({ err: error, path }, 'OpenID Provider request failed');
      },
      onRevocation(clientId) {
        // RFC 7009 §2.2 answers 200 for unknown tokens too: this says a client asked, not that a token existed.
        audit(log, 'token.revoked', { client_id: clientId }, 'token revocation requested');
      },
    }),
  );
  return provider;
}
