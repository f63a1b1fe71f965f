/**
 * Typed errors with stable codes, and the one handler that writes every error body.
 *
 * OAuth endpoints are answered by oidc-provider itself (RFC 6749 §5.2 error JSON). Everything the
 * gateway serves on its own answers `application/problem+json` (RFC 9457), and pages meant for
 * people answer HTML. Nothing unexposed (stack, message of an unexpected error, token, secret)
 * ever reaches a body: callers `switch` on `code`, never on message text.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { StoreUnavailableError } from '../../adapters/store-errors.ts';
import { LockTimeoutError } from '../../adapters/with-lock.ts';
import { messagesFor, type MessageKey } from './pages/i18n.ts';
import { renderMessagePage } from './pages/message-page.ts';

/** An error the gateway means to show, with an RFC 6749-style code. */
export class GatewayError extends Error {
  readonly code: string;
  readonly status: number;
  /** Safe to show to the caller. */
  readonly description: string;
  /** Answered as RFC 6749 §5.2 error JSON (`error`, `error_description`): for OAuth endpoints. */
  readonly oauth: boolean;
  /** The page text in the reader's language, when there is one (`description` is its English). */
  readonly messageKey: MessageKey | undefined;
  constructor(
    code: string,
    status: number,
    description: string,
    options?: { cause?: unknown; oauth?: boolean; messageKey?: MessageKey },
  ) {
    super(description, options);
    this.name = 'GatewayError';
    this.code = code;
    this.status = status;
    this.description = description;
    this.oauth = options?.oauth ?? false;
    this.messageKey = options?.messageKey;
  }
}

/** Writes an RFC 9457 problem document. */
export function sendProblem(reply: FastifyReply, status: number, code: string, detail: string): FastifyReply {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .type('application/problem+json')
    .send({ type: `urn:gateway:error:${code}`, title: code, status, detail });
}

/** True when the request comes from a person's browser rather than an API client. */
export function wantsHtml(request: FastifyRequest): boolean {
  const accept = request.headers.accept ?? '';
  return accept.includes('text/html');
}

/**
 * Answers an error as a page for people or as problem+json for programs. `startAgain`, when
 * given, is where the page's "Start again" button leads.
 */
export function sendError(
  request: FastifyRequest,
  reply: FastifyReply,
  error: GatewayError,
  startAgain?: string,
): FastifyReply {
  if (error.oauth) {
    // OAuth clients parse RFC 6749 §5.2 errors, whatever they put in Accept.
    return reply
      .code(error.status)
      .header('cache-control', 'no-store')
      .type('application/json; charset=utf-8')
      .send({ error: error.code, error_description: error.description });
  }
  if (wantsHtml(request)) {
    const language = request.headers['accept-language'];
    return reply
      .code(error.status)
      .header('cache-control', 'no-store')
      .type('text/html; charset=utf-8')
      .send(
        renderMessagePage(language, {
          title: error.status >= 500 ? 'pageErrorTitle' : 'pageDeniedTitle',
          message: error.messageKey === undefined ? error.description : messagesFor(language)[error.messageKey],
          ...(startAgain === undefined ? {} : { link: { href: startAgain, label: 'tryAgain' as const } }),
        }),
      );
  }
  return sendProblem(reply, error.status, error.code, error.description);
}

/** Seconds a client is asked to wait when the store is down (RFC 9110 §10.2.3 Retry-After). */
const RETRY_AFTER_SECONDS = 5;

/** Whether a raw request URL is an OAuth endpoint, whose errors are OAuth error JSON. */
export type IsOAuthUrl = (url: string) => boolean;

function toGatewayError(error: FastifyError | Error, request: FastifyRequest, isOAuthUrl: IsOAuthUrl): GatewayError {
  if (error instanceof GatewayError) return error;
  // A path whose percent-encoding does not decode (RFC 3986 §2.1; not UTF-8 per RFC 3629: `%ff`,
  // the overlong `%c0%af`, a lone `%`, `%zz`): the router refuses it for every route alike, the
  // provider's catch-all included, before any route is found. Fastify's own message echoes the path.
  if ((error as FastifyError).code === 'FST_ERR_BAD_URL') {
    const oauth = isOAuthUrl(request.raw.url ?? '/');
    return new GatewayError('invalid_request', 400, 'The request path is not validly percent-encoded UTF-8.', {
      oauth,
    });
  }
  // The store is down or stalled (or a lock's holder is taking too long): a temporary condition (RFC 6749 §4.1.2.1 temporarily_unavailable),
  // not a bug; the sign-in pages say so, in the reader's language, and the retry will work.
  if (error instanceof StoreUnavailableError || error instanceof LockTimeoutError) {
    return new GatewayError(
      'temporarily_unavailable',
      503,
      messagesFor(request.headers['accept-language']).temporarilyUnavailable,
    );
  }
  const status = (error as FastifyError).statusCode;
  // Fastify's own client errors (bad JSON, body too large, bad content type) are safe to name.
  if (typeof status === 'number' && status >= 400 && status < 500) {
    const code = status === 413 ? 'request_too_large' : status === 415 ? 'unsupported_media_type' : 'invalid_request';
    return new GatewayError(code, status, (error as FastifyError).message);
  }
  return new GatewayError('server_error', 500, 'The gateway could not complete this request.');
}

/**
 * The error handler of every route, and Fastify's `frameworkErrors` (see build-gateway.ts): what
 * its router refuses before any route is found, which the error handler would never see.
 */
export function answerErrors(isOAuthUrl: IsOAuthUrl) {
  return (error: FastifyError, request: FastifyRequest, reply: FastifyReply): FastifyReply =>
    answerError(error, request, reply, isOAuthUrl);
}

function answerError(error: FastifyError, request: FastifyRequest, reply: FastifyReply, isOAuthUrl: IsOAuthUrl) {
  const gatewayError = toGatewayError(error, request, isOAuthUrl);
  if (error instanceof StoreUnavailableError || error instanceof LockTimeoutError) {
    request.log.warn(
      { detail: error instanceof StoreUnavailableError ? error.error_detail : error.message },
      'store unavailable',
    );
    reply.header('retry-after', String(RETRY_AFTER_SECONDS));
  } else if (gatewayError.status >= 500) request.log.error({ err: error }, 'request failed');
  else request.log.info({ error_code: gatewayError.code }, 'request refused');
  return sendError(request, reply, gatewayError);
}

/** Installs the error and not-found handlers for the gateway's own routes. */
export const errorHandling = fp(
  async function errorHandling(app: FastifyInstance, options: { isOAuthUrl: IsOAuthUrl }) {
    app.setErrorHandler(answerErrors(options.isOAuthUrl));
    app.setNotFoundHandler((request, reply) =>
      sendError(request, reply, new GatewayError('not_found', 404, 'There is nothing at this address.')),
    );
  },
  { name: 'gateway-errors' },
);
