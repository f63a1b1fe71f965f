/**
 * Secrets for cookies and for wrapping the store's data key (data-key.ts), under which everything
 * at rest is sealed. From `GATEWAY_SECRETS` when set (the first signs and wraps, all verify and
 * unwrap: rotation); in development generated once and kept in the store, so that a restart and a
 * second instance keep the same ones (and a dump of a development store opens everything).
 */
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/config-type.ts';
import type { Store } from '../../adapters/store.ts';

const SECRETS_KEY = 'keys:cookie-secrets';

/** The secrets to use, newest first. */
export async function loadCookieSecrets(config: Config, store: Store): Promise<string[]> {
  if (config.secrets.length > 0) return [...config.secrets];
  const generated = [randomBytes(32).toString('base64url')];
  if (await store.setIfAbsent(SECRETS_KEY, generated)) return generated;
  const stored = await store.get<string[]>(SECRETS_KEY);
  if (!stored || stored.length === 0)
    throw new Error('cookie secrets vanished from the store right after they were written');
  return stored;
}

/**
 * Development only (no GATEWAY_SECRETS): puts the secrets this process uses back into a store
 * that has lost them, so that instances started afterwards use them too (they wrap the data key).
 */
export async function restoreCookieSecrets(config: Config, store: Store, secrets: readonly string[]): Promise<void> {
  if (config.secrets.length === 0) await store.setIfAbsent(SECRETS_KEY, [...secrets]);
}
