import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { describe, it } from 'node:test';
import { BodyTooLargeError, readBoundedBody } from '../../../../gateway/web/read-bounded-body.ts';

/** A request whose body arrives in these chunks. */
function request(...chunks: string[]): IncomingMessage {
  return Readable.from(chunks.map((chunk) => Buffer.from(chunk))) as unknown as IncomingMessage;
}

describe('readBoundedBody', () => {
  it('reads a body of up to the limit whole, across chunks', async () => {
    assert.equal((await readBoundedBody(request('a=1&', 'b=2'), 7)).toString(), 'a=1&b=2');
    assert.equal((await readBoundedBody(request(), 7)).length, 0);
  });

  it('stops with BodyTooLargeError one byte past the limit', async () => {
    await assert.rejects(readBoundedBody(request('a=1&', 'b=22'), 7), BodyTooLargeError);
    let pulled = 0;
    const endless = Readable.from(
      (function* () {
        for (;;) {
          pulled += 1;
          yield Buffer.alloc(1024);
        }
      })(),
    ) as unknown as IncomingMessage;
    await assert.rejects(readBoundedBody(endless, 4096), BodyTooLargeError);
    assert.ok(pulled < 100, 'it stops reading at the limit');
  });
});
