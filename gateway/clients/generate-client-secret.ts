import { randomBytes } from 'node:crypto';

/** A new client secret: 256 random bits, base64url (43 characters), shown once and never logged. */
export function generateClientSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * A new client id: 128 random bits, base64url (22 characters), never starting with `-`, which
 * `npx gateway clients remove <id>` would read as an option.
 */
export function generateClientId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
