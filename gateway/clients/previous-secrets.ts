/**
 * A client's previous secrets, kept for a grace period after a rotation so that an app can be
 * redeployed with its new secret without an outage (the overlap RFC 6749 §2.3.1 leaves to the
 * server, as Keycloak's "client secret rotation" and Google's two active secrets do).
 *
 * oidc-provider knows one `client_secret` per client; the new one is that. Each previous one is
 * kept beside the client, at `clients:previous-secrets:<client_id>`, as a keyed hash (the store's
 * sealing: HMAC-SHA-256 under a key derived from the data key) with the instant it stops working
 * (`notAfter`), never in plain text, and under a store TTL that ends with the last of them, so an
 * expired secret is gone from the store too. Keyed rather than a bare digest: a dump of the store
 * then gives nothing to test guesses against, even for a weak secret from a clients file.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';

/** One retired secret: its keyed hash and the instant (epoch ms) after which it is refused. */
export interface PreviousSecret {
  hash?: string;
  /**
   * An unkeyed SHA-256 digest, as kept before the keyed hash; still honoured until its
   * `notAfter` (at most GATEWAY_SECRET_ROTATION_GRACE after an upgrade), never written.
   */
  sha256?: string;
  notAfter: number;
}

const keyFor = (clientId: string) => `clients:previous-secrets:${clientId}`;

/** The previous secrets of `clientId` that still work at `now`. */
export async function livePreviousSecrets(store: Store, clientId: string, now = Date.now()): Promise<PreviousSecret[]> {
  const stored = (await store.get<PreviousSecret[]>(keyFor(clientId))) ?? [];
  return stored.filter((entry) => entry.notAfter > now);
}

/**
 * Keeps `secret` working for `graceSeconds` more (none when 0) beside the ones still in grace.
 * Returns the instant it stops working, or undefined when there is no grace.
 */
export async function keepPreviousSecret(
  store: Store,
  sealing: Sealing,
  clientId: string,
  secret: string,
  graceSeconds: number,
  now = Date.now(),
): Promise<Date | undefined> {
  if (graceSeconds <= 0) return undefined;
  const notAfter = now + graceSeconds * 1000;
  const kept = [...(await livePreviousSecrets(store, clientId, now)), { hash: sealing.hashId(secret), notAfter }];
  const lastEnd = Math.max(...kept.map((entry) => entry.notAfter));
  await store.set(keyFor(clientId), kept, lastEnd - now);
  return new Date(notAfter);
}

/** True when `presented` is one of the client's previous secrets still in its grace period. */
export async function matchesPreviousSecret(
  store: Store,
  sealing: Sealing,
  clientId: string,
  presented: string,
  now = Date.now(),
): Promise<boolean> {
  const live = await livePreviousSecrets(store, clientId, now);
  if (live.length === 0) return false;
  const keyed = Buffer.from(sealing.hashId(presented), 'base64url');
  const digest = createHash('sha256').update(presented, 'utf8').digest();
  // Compare with every entry (constant time each), so the answer's timing says nothing of which.
  let match = false;
  for (const entry of live) {
    const given = entry.hash === undefined ? digest : keyed;
    const stored = Buffer.from(entry.hash ?? entry.sha256 ?? '', 'base64url');
    if (stored.length === given.length && timingSafeEqual(stored, given)) match = true;
  }
  return match;
}

/** Forgets every previous secret of `clientId` (the client is removed). */
export async function forgetPreviousSecrets(store: Store, clientId: string): Promise<void> {
  await store.delete(keyFor(clientId));
}
