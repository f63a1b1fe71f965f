/**
 * The form body of a request to one of oidc-provider's endpoints, read by the gateway's Koa
 * middlewares in front of it (limits need the client id before the request is served, the refresh
 * grace needs the refresh token, the access-JWT endpoints swap the token), then handed on to
 * oidc-provider, which reads the request stream itself, as if still unread.
 */
import type { IncomingMessage } from 'node:http';
import { BodyTooLargeError, readBoundedBody } from '../web/read-bounded-body.ts';
import { withBody } from './oidc-provider-patches.ts';

/** oidc-provider's own limit for request bodies (lib/shared/selective_body.js). */
export const PROVIDER_BODY_LIMIT_BYTES = 56 * 1024;

/** The part of Koa's context these helpers use. */
export interface FormContext {
  req: IncomingMessage;
  status: number;
  body: unknown;
  is(type: string): string | false | null;
}

/** The answer oidc-provider itself would give to an oversized body (RFC 9110 §15.5.14). */
function answerTooLarge(ctx: FormContext): void {
  ctx.status = 413;
  ctx.body = { error: 'invalid_request', error_description: 'the request body is too large' };
}

/**
 * Lets oidc-provider read `raw` as the body (a patch of its internals, oidc-provider-patches.ts).
 * A declared Content-Length becomes `raw`'s, since oidc-provider checks the body against it.
 */
function replay(ctx: FormContext, raw: Buffer): void {
  if (ctx.req.headers['content-length'] !== undefined) ctx.req.headers['content-length'] = String(raw.length);
  ctx.req = withBody(ctx.req, raw);
}

/** What each request's body holds, as oidc-provider will read it, by its Koa context. */
const bodies = new WeakMap<object, URLSearchParams>();

/**
 * The request's `application/x-www-form-urlencoded` parameters, read once per request (later
 * calls get the same object); undefined for other bodies. Throws a BodyTooLargeError past
 * {@link PROVIDER_BODY_LIMIT_BYTES}.
 */
async function formParams(ctx: FormContext): Promise<URLSearchParams | undefined> {
  const known = bodies.get(ctx);
  if (known) return known;
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  const raw = await readBoundedBody(ctx.req, PROVIDER_BODY_LIMIT_BYTES);
  replay(ctx, raw);
  const params = new URLSearchParams(raw.toString('utf8'));
  bodies.set(ctx, params);
  return params;
}

/**
 * {@link formParams} for a middleware: an oversized body is answered there and then, as
 * oidc-provider would, and `null` says the middleware should stop.
 */
export async function formParamsOrAnswer(ctx: FormContext): Promise<URLSearchParams | undefined | null> {
  try {
    return await formParams(ctx);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) throw error;
    answerTooLarge(ctx);
    return null;
  }
}

/** oidc-provider reads `params` as the body instead of what was sent. */
export function replaceFormBody(ctx: FormContext, params: URLSearchParams): void {
  replay(ctx, Buffer.from(params.toString(), 'utf8'));
  bodies.set(ctx, params);
}
