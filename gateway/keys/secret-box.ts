/**
 * Authenticated encryption for values kept at rest: AES-256-GCM (NIST SP 800-38D) with a random
 * 96-bit IV per value and the full 128-bit tag. The first key seals; every key opens, so a key
 * can be replaced while what the old one sealed stays readable.
 *
 * A sealed value is `base64url(iv).base64url(tag).base64url(ciphertext)` of the value's JSON.
 */
import { createCipheriv, createDecipheriv, createSecretKey, randomBytes } from 'node:crypto';

/**
 * GCM's full 128-bit tag, pinned on both sides. Without `authTagLength`, Node's decipher takes
 * whatever length `setAuthTag` is given, down to 4 bytes, and a forger then has 32 bits to guess
 * instead of 128 (NIST SP 800-38D §5.2.1.2 and Appendix C on short tags).
 */
const TAG_BYTES = 16;

/**
 * 96-bit IVs, the length GCM is specified for, drawn at random (NIST SP 800-38D §8.2.2); §8.3
 * then bounds one key to 2^32 seals, about a year of a hundred writes a second.
 */
const IV_BYTES = 12;

export interface SecretBox {
  seal(value: unknown): string;
  /** The value, or undefined when no key opens it (tampered, or sealed with a key not given). */
  open<T>(sealed: string): T | undefined;
}

/** A box over 32-byte AES keys (newest first). */
export function createSecretBox(rawKeys: readonly Uint8Array[]): SecretBox {
  // KeyObjects, made once: a raw key is imported again on every cipher, which doubled its cost.
  const keys = rawKeys.map((key) => createSecretKey(key));
  const [sealKey] = keys;
  if (!sealKey) throw new Error('createSecretBox needs at least one key');
  return {
    seal(value) {
      const iv = randomBytes(IV_BYTES);
      const cipher = createCipheriv('aes-256-gcm', sealKey, iv, { authTagLength: TAG_BYTES });
      const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
      return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
    },
    open<T>(sealed: string) {
      if (typeof sealed !== 'string') return undefined;
      const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
      if (!iv || !tag || !body) return undefined;
      for (const key of keys) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
          decipher.setAuthTag(tag);
          return JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')) as T;
        } catch {
          // Not this key (or a tag of the wrong length): try the next one.
        }
      }
      return undefined;
    },
  };
}
