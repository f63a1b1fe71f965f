/**
 * `preferred_username` unique by construction. Downstream apps (Django's `auth_user.username` is
 * UNIQUE and NOT NULL) break when two social sign-ups produce the same or an empty name; here every
 * name is claimed atomically in the store (`username:<name>` → sub), so two accounts can never
 * hold one name, and an account without a usable name still gets one.
 *
 * Names that suggest authority (`admin`, `root`, `security`: GATEWAY_RESERVED_USERNAMES) are
 * never handed out as they are, else the first `admin@gmail.com` to sign in would be `admin` in
 * every app; such a user gets the suffixed form, as a second user of a taken name does.
 */
import { randomBytes } from 'node:crypto';
import type { Store } from '../../adapters/store.ts';

const MAX_LENGTH = 30;

/** A lower-case base name from the e-mail's local part or the display name; `user` when neither gives one. */
export function usernameBase(email: string | undefined, name: string | undefined): string {
  for (const source of [email?.split('@')[0], name]) {
    const cleaned = (source ?? '')
      .normalize('NFKD')
      .toLowerCase()
      .replace(/[\s]+/g, '.')
      .replace(/[^a-z0-9._-]/g, '')
      .replace(/^[._-]+|[._-]+$/g, '')
      .slice(0, MAX_LENGTH);
    if (cleaned.length > 0) return cleaned;
  }
  return 'user';
}

/** The key holding the sub a user name belongs to. */
export const usernameKey = (username: string) => `username:${username}`;

/**
 * Claims a unique username for `sub`: the base itself unless it is `reserved` (lower-case
 * names), else or when taken, the base with a random suffix.
 */
export async function claimUsername(
  store: Store,
  sub: string,
  base: string,
  reserved: readonly string[],
): Promise<string> {
  const first = reserved.includes(base) ? 1 : 0;
  for (let attempt = first; attempt < first + 20; attempt += 1) {
    const candidate = attempt === 0 ? base : `${base.slice(0, MAX_LENGTH - 7)}-${randomBytes(3).toString('hex')}`;
    const key = usernameKey(candidate);
    if (await store.setIfAbsent(key, sub)) return candidate;
    if ((await store.get<string>(key)) === sub) return candidate;
  }
  throw new Error('could not claim a unique username after 20 attempts');
}
