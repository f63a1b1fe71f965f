/**
 * The secret box (AES-256-GCM at rest): what it seals opens only as sealed, with a full 128-bit
 * tag. A forger who may shorten the tag to 4 bytes needs about 2^32 tries instead of 2^128
 * (NIST SP 800-38D Appendix C), so a truncated tag must not open, even when its bytes are right.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createSecretBox } from '../../../../gateway/keys/secret-box.ts';

const box = createSecretBox([randomBytes(32)]);

/** Replaces one of the three dot-separated parts (iv, tag, body) of a sealed value. */
function withPart(sealed: string, index: number, change: (part: Buffer) => Buffer): string {
  const parts = sealed.split('.');
  parts[index] = change(Buffer.from(parts[index] ?? '', 'base64url')).toString('base64url');
  return parts.join('.');
}

describe('secret box', () => {
  it('opens what it sealed', () => {
    assert.deepEqual(box.open(box.seal({ token: 'abc', n: 1 })), { token: 'abc', n: 1 });
  });

  it('does not open a value whose tag was truncated, even to its own first bytes', () => {
    const sealed = box.seal('refresh-token-value');
    for (const length of [4, 8, 12, 15]) {
      assert.equal(box.open(withPart(sealed, 1, (tag) => tag.subarray(0, length))), undefined, `a ${length}-byte tag`);
    }
  });

  it('does not open a tampered body or a value sealed under another key', () => {
    const sealed = box.seal('value');
    assert.equal(
      box.open(withPart(sealed, 2, (body) => Buffer.from(body.map((byte, i) => (i === 0 ? byte ^ 1 : byte))))),
      undefined,
    );
    assert.equal(createSecretBox([randomBytes(32)]).open(sealed), undefined);
    assert.equal(box.open('not.a.sealed-value'), undefined);
  });
});
