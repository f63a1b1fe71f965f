/**
 * Request size and header limits, refused with the right status and a problem document, never a
 * 500 nor a hang:
 *
 * - headers (request line included) over {@link MAX_HEADER_BYTES}: 431 (RFC 6585 §5), written by
 *   {@link clientErrorHandler} on the socket, since no route ever sees such a request;
 * - a request that has not arrived within {@link REQUEST_TIMEOUT_MS} (slowloris): 408;
 * - other malformed HTTP: 400;
 * - a body over the limit: 413 (RFC 9110 §15.5.14). Fastify enforces its `bodyLimit` on the
 *   gateway's own routes; oidc-provider reads its own bodies (up to 56 KiB) and would answer an
 *   oversized one with 400, so the provider's and the development IdP's routes refuse a declared
 *   `Content-Length` over that limit with 413 before the body is read.
 */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest, RouteOptions } from 'fastify';
import { GatewayError } from '../web/errors.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * A route whose handler reads its own body (oidc-provider's, the development IdP's): a
     * declared `Content-Length` over `limit` is refused with 413 before it is read, as OAuth
     * error JSON where `oauthErrors(url)` says the URL is an OAuth endpoint, else as a problem.
     */
    ownBody?: { limit: number; oauthErrors?: (url: string) => boolean };
  }
}

/** Node's default, stated: 16 KiB of request line and headers. */
export const MAX_HEADER_BYTES = 16 * 1024;
/** Bodies of the gateway's own routes (Fastify's `bodyLimit`). */
export const BODY_LIMIT_BYTES = 64 * 1024;
/** A whole request (headers and body) must arrive within this (Node's `requestTimeout`). */
export const REQUEST_TIMEOUT_MS = 30_000;

/** The raw answer for a request no route will see; closes the connection. */
function problemResponse(status: number, reason: string, code: string, detail: string): string {
  const body = JSON.stringify({ type: `urn:gateway:error:${code}`, title: code, status, detail });
  return `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/problem+json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`;
}

/** Fastify's `clientErrorHandler`: malformed or oversized requests answered as problem+json. */
export function clientErrorHandler(error: Error & { code?: string }, socket: Socket): void {
  // Reset by the peer: nobody is listening for an answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  let response: string;
  if (error.code === 'HPE_HEADER_OVERFLOW') {
    response = problemResponse(
      431,
      'Request Header Fields Too Large',
      'request_header_fields_too_large',
      `The request line and headers must stay under ${MAX_HEADER_BYTES} bytes.`,
    );
  } else if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    response = problemResponse(408, 'Request Timeout', 'request_timeout', 'The request did not arrive in time.');
  } else {
    response = problemResponse(400, 'Bad Request', 'invalid_request', 'The request is not valid HTTP.');
  }
  if (socket.writable) socket.write(response);
  socket.destroy();
}

/** An `onRoute` hook: the body limit on the routes that declare `ownBody`. */
export function ownBodyLimitOnRoute(routeOptions: RouteOptions): void {
  const own = routeOptions.config?.ownBody;
  if (!own) return;
  const description = `The request body must stay under ${own.limit} bytes.`;
  const refuseOversized = async (request: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const declared = request.headers['content-length'];
    if (declared === undefined || Number(declared) <= own.limit) return;
    throw own.oauthErrors?.(request.raw.url ?? '/')
      ? new GatewayError('invalid_request', 413, description, { oauth: true })
      : new GatewayError('request_too_large', 413, description);
  };
  const existing = routeOptions.onRequest;
  const hooks = existing === undefined ? [] : Array.isArray(existing) ? existing : [existing];
  routeOptions.onRequest = [...hooks, refuseOversized] as RouteOptions['onRequest'];
}

/**
 * The query string parser of the gateway's own routes: one string per parameter, the first when
 * one is repeated (RFC 6749 §3.1: parameters MUST NOT be included more than once), so a route
 * never meets an array where it expects a string (`?rd=a&rd=b` was a 500, found by
 * tests/fuzz.test.ts). oidc-provider parses its own query and refuses repeated parameters itself.
 */
export function parseQueryString(text: string): Record<string, string> {
  const result: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [key, value] of new URLSearchParams(text)) {
    if (!Object.hasOwn(result, key)) result[key] = value;
  }
  return result;
}
