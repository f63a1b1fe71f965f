/**
 * The form body of a request to oidc-provider's token, introspection or revocation endpoint, read
 * once by the gateway's middlewares in front of it (limits need the client id before the request
 * is served; the refresh grace needs the refresh token), then handed back to oidc-provider as if
 * still unread.
 */
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';

/** oidc-provider's own limit for request bodies (lib/shared/selective_body.js). */
export const PROVIDER_BODY_LIMIT_BYTES = 56 * 1024;

interface FormContext {
  req: IncomingMessage;
  is(type: string): string | false | null;
}

/** The body was over {@link PROVIDER_BODY_LIMIT_BYTES}. */
export class BodyTooLargeError extends Error {}

async function readLimited(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > PROVIDER_BODY_LIMIT_BYTES) throw new BodyTooLargeError('request entity too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Lets oidc-provider read the body again: its body parser reads `ctx.req` through `readable` and
 * its async iterator, which this view serves from the bytes already read (checked against the
 * installed version by tests/oidc-provider-patches.test.ts).
 */
function replayBody(ctx: FormContext, raw: Buffer): void {
  const original = ctx.req;
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

/** What each request's body held, by its Koa context (gone with the context). */
const read = new WeakMap<object, URLSearchParams>();

/**
 * The request's `application/x-www-form-urlencoded` parameters, read once per request (later
 * calls get the same object); undefined for other bodies. Throws {@link BodyTooLargeError}.
 */
export async function formParams(ctx: FormContext): Promise<URLSearchParams | undefined> {
  const cached = read.get(ctx);
  if (cached) return cached;
  if (!ctx.is('application/x-www-form-urlencoded')) return undefined;
  const raw = await readLimited(ctx.req);
  replayBody(ctx, raw);
  const params = new URLSearchParams(raw.toString('utf8'));
  read.set(ctx, params);
  return params;
}
