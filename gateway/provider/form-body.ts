/**
 * A form body read by a Koa middleware in front of oidc-provider's endpoints, then handed on.
 * oidc-provider reads the request stream itself (its own body parser), so a middleware that looks
 * at the body first gives the provider a replay of it: the same bytes (refresh-grace.ts), or
 * changed ones (access-jwt-endpoints.ts).
 */
import { Readable } from 'node:stream';
import type { IncomingMessage } from 'node:http';

/** oidc-provider's own limit for request bodies. */
const BODY_LIMIT = 56 * 1024;

/** The part of Koa's context these helpers use. */
export interface FormContext {
  req: IncomingMessage;
  status: number;
  body: unknown;
}

/**
 * The whole body, at most oidc-provider's limit; over it, `undefined` with the answer oidc-provider
 * would give already set (413, RFC 9110 §15.5.14).
 */
export async function readFormBody(ctx: FormContext): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > BODY_LIMIT) {
      ctx.status = 413;
      ctx.body = { error: 'invalid_request', error_description: 'the request body is too large' };
      return undefined;
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Lets oidc-provider read `raw` as the body, as if it were still unread. A declared
 * Content-Length becomes `raw`'s: oidc-provider checks the body against it, reading it through
 * Koa's request object, which keeps the original request (the stream was read to its end, so
 * the header no longer describes anything on the wire).
 */
export function replayBody(ctx: FormContext, raw: Buffer): void {
  const original = ctx.req;
  if (original.headers['content-length'] !== undefined) original.headers['content-length'] = String(raw.length);
  const replay = Readable.from([raw]);
  ctx.req = new Proxy(original, {
    get(target, property) {
      if (property === 'readable') return true;
      if (property === 'readableEncoding') return null;
      if (property === 'iterator') return (options?: { destroyOnReturn?: boolean }) => replay.iterator(options);
      const value = Reflect.get(target, property, target) as unknown;
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
