/**
 * The store's data key: one random 256-bit key kept in the store itself, wrapped (AES-256-GCM)
 * with a key derived by HKDF (RFC 5869) from a GATEWAY_SECRETS entry. Everything sealed or hashed
 * at rest uses keys derived from it (store-sealing.ts), so a dump of the store alone opens nothing,
 * and rotating GATEWAY_SECRETS re-wraps 32 bytes instead of re-encrypting every record.
 *
 * Rotation: the first secret wraps, any secret unwraps. An instance that had to unwrap with a
 * later secret re-wraps the same data key under its first one; two instances doing so at once
 * write two wraps of the same key, so whichever lands last, every record stays readable. The
 * wrapped key is overwritten, never deleted: an absent key would make the next instance to start
 * generate another one, and everything sealed before would be lost.
 *
 * The store can lose it anyway (a Redis restart without persistence): a running instance that
 * notices puts its own copy back (`restoreDataKey`, see live-keys.ts), so that instances started
 * afterwards open the same key instead of making one that the running ones cannot read.
 *
 * In development GATEWAY_SECRETS is generated into the store as well (cookie-secrets.ts), so a
 * dump of a development store opens everything: sealing protects production stores only.
 */
import { hkdfSync, randomBytes } from 'node:crypto';
import type { Store } from '../../adapters/store.ts';
import { createSecretBox } from './secret-box.ts';

const DATA_KEY = 'keys:data-key';
const KEY_BYTES = 32;

/** The key that wraps the data key, one per secret (HKDF-SHA-256, RFC 5869 §2). */
function wrappingKey(secret: string): Buffer {
  return Buffer.from(hkdfSync('sha256', secret, 'gateway', 'gateway data key wrapping v1', KEY_BYTES));
}

/** The store's data key could not be opened: a configuration problem, stated for the operator. */
export class DataKeyError extends Error {
  constructor() {
    super(
      `no GATEWAY_SECRETS entry opens the store's data key (${DATA_KEY}): give this process the same ` +
        'GATEWAY_SECRETS as the gateways that share the store (during a rotation: the new secret first, the old one still listed)',
    );
    this.name = 'DataKeyError';
  }
}

export interface LoadedDataKey {
  key: Buffer;
  /** True when it opened with a later secret and is now wrapped under the first (worth a log line). */
  rewrapped: boolean;
  /** True when the store had none and this call made it: a first start, or a store that lost its data. */
  created: boolean;
}

/** The data key: read and unwrapped, or generated on first start (once, even by instances starting together). */
export async function loadDataKey(store: Store, secrets: readonly string[]): Promise<LoadedDataKey> {
  if (secrets.length === 0) throw new Error('loadDataKey needs at least one secret');
  const keys = secrets.map(wrappingKey);
  const wrapUnderFirst = createSecretBox(keys.slice(0, 1));
  let wrapped = await store.get<string>(DATA_KEY);
  if (wrapped === undefined) {
    const fresh = randomBytes(KEY_BYTES).toString('base64url');
    if (await store.setIfAbsent(DATA_KEY, wrapUnderFirst.seal(fresh)))
      return { key: Buffer.from(fresh, 'base64url'), rewrapped: false, created: true };
    wrapped = await store.get<string>(DATA_KEY);
  }
  if (wrapped === undefined) throw new Error("the store's data key vanished right after it was written");
  const underFirst = wrapUnderFirst.open<string>(wrapped);
  if (underFirst !== undefined) return { key: Buffer.from(underFirst, 'base64url'), rewrapped: false, created: false };
  const underLater = keys.length > 1 ? createSecretBox(keys.slice(1)).open<string>(wrapped) : undefined;
  if (underLater === undefined) throw new DataKeyError();
  await store.set(DATA_KEY, wrapUnderFirst.seal(underLater));
  return { key: Buffer.from(underLater, 'base64url'), rewrapped: true, created: false };
}

/**
 * Puts `key` (the data key this process holds) back into a store that has lost it, wrapped under
 * the first secret: `restored` when written back, `present` when the store's own opens to the same
 * key, `replaced` when the store holds another data key (made since by an instance or a CLI that
 * started on the emptied store): then this process and that one cannot read each other's records.
 */
export async function restoreDataKey(
  store: Store,
  secrets: readonly string[],
  key: Buffer,
): Promise<'restored' | 'present' | 'replaced'> {
  const wrapUnderFirst = createSecretBox(secrets.slice(0, 1).map(wrappingKey));
  if (await store.setIfAbsent(DATA_KEY, wrapUnderFirst.seal(key.toString('base64url')))) return 'restored';
  const wrapped = await store.get<string>(DATA_KEY);
  const stored = wrapped === undefined ? undefined : createSecretBox(secrets.map(wrappingKey)).open<string>(wrapped);
  return stored !== undefined && Buffer.from(stored, 'base64url').equals(key) ? 'present' : 'replaced';
}
