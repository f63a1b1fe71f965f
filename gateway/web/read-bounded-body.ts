/**
 * A request body read whole, up to a limit: past it, reading stops at once with
 * {@link BodyTooLargeError}, so an oversized body never costs more memory than the limit. Each
 * caller sets its limit and answers the error its own way (oidc-provider's 413, an invalid form).
 */
import type { IncomingMessage } from 'node:http';

/** The body was over the limit (RFC 9110 §15.5.14, 413 Content Too Large). */
export class BodyTooLargeError extends Error {
  override readonly name = 'BodyTooLargeError';
}

/** The bytes of `req`'s body; throws {@link BodyTooLargeError} past `limit` bytes. */
export async function readBoundedBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError('request entity too large');
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
