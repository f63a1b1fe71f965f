/**
 * Authenticated encryption for data kept at rest (the user's upstream tokens): AES-256-GCM with a
 * key derived by HKDF from each gateway secret. The first secret encrypts; every secret decrypts,
 * so rotating `GATEWAY_SECRETS` keeps old records readable.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const INFO = 'gateway upstream tokens v1';

/**
 * GCM's full 128-bit tag, pinned on both sides. Without `authTagLength`, Node's decipher takes
 * whatever length `setAuthTag` is given, down to 4 bytes, and a forger then has 32 bits to guess
 * instead of 128 (NIST SP 800-38D §5.2.1.2 and Appendix C on short tags).
 */
const TAG_BYTES = 16;

export interface SecretBox {
  seal(value: unknown): string;
  /** The value, or undefined when no secret opens it (tampered, or encrypted with a retired secret). */
  open<T>(sealed: string): T | undefined;
}

function deriveKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'gateway', INFO, 32));
}

/** A box over `secrets` (newest first). */
export function createSecretBox(secrets: readonly string[]): SecretBox {
  const keys = secrets.map(deriveKey);
  const [sealKey] = keys;
  if (!sealKey) throw new Error('createSecretBox needs at least one secret');
  return {
    seal(value) {
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', sealKey, iv, { authTagLength: TAG_BYTES });
      const body = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final()]);
      return [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.');
    },
    open<T>(sealed: string) {
      const [iv, tag, body] = sealed.split('.').map((part) => Buffer.from(part, 'base64url'));
      if (!iv || !tag || !body) return undefined;
      for (const key of keys) {
        try {
          const decipher = createDecipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
          decipher.setAuthTag(tag);
          return JSON.parse(Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')) as T;
        } catch {
          // Not this key: try the next one.
        }
      }
      return undefined;
    },
  };
}
