/**
 * The gateway's signing keys: a key ring kept in the store, so every instance signs and verifies
 * alike, with rotation that never breaks a token.
 *
 * ES256 signs access tokens (RFC 9068); RS256 stays for ID tokens, since OIDC Core makes RS256 the
 * default every relying party must support. Each key carries `activatesAt`: a rotation adds a new
 * pair that is published in the JWKS at once but signs only from `activatesAt` on
 * (`GATEWAY_KEY_ROLL_IN` later), so apps caching the JWKS know it first. The key it replaces
 * stays published until every token it signed has expired (`retention`), then leaves the ring.
 *
 * Which key signs is derived from the clock, not stored, so every instance agrees without
 * coordination; the only writes are the first start and a rotation, both under `setIfAbsent` or a
 * lock, so two instances rotating at once still add one pair. A rotation is announced on the
 * store's channel, so every instance reloads the ring at once (live-keys.ts) instead of at its
 * next poll.
 *
 * The ring is sealed whole (the store's sealing) at `keys:signing`: its private keys would let
 * anyone holding a dump of the store forge every token the gateway and its apps accept. A ring
 * stored before sealing is read once more and sealed, under the rotation lock so that a rotation
 * made meanwhile is never overwritten with the older ring.
 */
import { calculateJwkThumbprint, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { withLock } from '../../adapters/with-lock.ts';

const RING_KEY = 'keys:signing';
/** Where a rotation is announced to every instance sharing the store (Redis PUBLISH on Redis). */
export const KEYS_CHANGED_CHANNEL = 'keys:changed';
const ROTATE_LOCK = 'lock:keys:rotate';
export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;
type Algorithm = (typeof SIGNING_ALGORITHMS)[number];

/** A private JWK with the fields oidc-provider needs. */
export type PrivateJwk = JWK & { kid: string; alg: string; use: 'sig' };

export interface RingKey extends PrivateJwk {
  /** Epoch ms from which this key signs. */
  activatesAt: number;
  createdAt: number;
}

interface KeyRing {
  keys: RingKey[];
}

/** The ring as read: `sealed` false when it was stored before sealing. */
interface StoredRing {
  keys: RingKey[];
  sealed: boolean;
}

export type KeyStatus = 'next' | 'current' | 'retired';

export interface KeyView {
  /** The keys that sign now, one per algorithm. */
  signing: PrivateJwk[];
  /** Everything published in the JWKS: signing first, then next and retired keys (verify only). */
  published: Array<PrivateJwk & { key_ops?: string[] }>;
  /** Every key with its status, for `npx gateway keys list`. */
  statuses: Array<{ kid: string; alg: string; status: KeyStatus; activatesAt: number; retiresAt: number | undefined }>;
  /** When the view changes next by itself (a pending key activates, a retired key expires). */
  nextChangeAt: number | undefined;
  /** A fingerprint of the view: equal fingerprints mean nothing to reload. */
  fingerprint: string;
}

async function generateSigningKey(alg: Algorithm, activatesAt: number): Promise<RingKey> {
  const { privateKey } = await generateKeyPair(alg, {
    extractable: true,
    ...(alg === 'RS256' ? { modulusLength: 2048 } : {}),
  });
  const jwk = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(jwk);
  return { ...jwk, kid, alg, use: 'sig', activatesAt, createdAt: Date.now() };
}

async function readRing(store: Store, sealing: Sealing): Promise<StoredRing | undefined> {
  const stored = await store.get<string | KeyRing>(RING_KEY);
  if (stored === undefined) return undefined;
  if (typeof stored !== 'string') return { keys: stored.keys, sealed: false };
  const ring = sealing.open<KeyRing>(stored);
  if (!ring) throw new Error(`the signing keys in the store (${RING_KEY}) do not open with the store's data key`);
  return { keys: ring.keys, sealed: true };
}

/** The stored ring, or the first keys, generated and stored once even by instances starting together. */
async function storedOrFirstRing(store: Store, sealing: Sealing): Promise<StoredRing> {
  const existing = await readRing(store, sealing);
  if (existing) return existing;
  const now = Date.now();
  const keys = await Promise.all(SIGNING_ALGORITHMS.map((alg) => generateSigningKey(alg, now)));
  if (await store.setIfAbsent(RING_KEY, sealing.seal({ keys } satisfies KeyRing))) return { keys, sealed: true };
  const winner = await readRing(store, sealing);
  if (!winner) throw new Error('signing keys vanished from the store right after they were written');
  return winner;
}

/** Whether the store holds a key ring at all: once made, it is gone only if the store lost its data. */
export async function hasKeyRing(store: Store): Promise<boolean> {
  return (await store.get(RING_KEY)) !== undefined;
}

/**
 * Puts `keys` (the ring this process holds) back into a store that has none, sealed as always;
 * true when written. Never replaces a ring: if another instance made one meanwhile, that stands.
 */
export async function restoreKeyRing(store: Store, sealing: Sealing, keys: readonly RingKey[]): Promise<boolean> {
  return store.setIfAbsent(RING_KEY, sealing.seal({ keys: [...keys] } satisfies KeyRing));
}

/** Loads the ring, generating and storing the first keys on first start. */
export async function loadKeyRing(store: Store, sealing: Sealing): Promise<RingKey[]> {
  const ring = await storedOrFirstRing(store, sealing);
  if (ring.sealed) return ring.keys;
  return withLock(store, ROTATE_LOCK, async () => {
    const current = await storedOrFirstRing(store, sealing);
    if (!current.sealed) await store.set(RING_KEY, sealing.seal({ keys: current.keys } satisfies KeyRing));
    return current.keys;
  });
}

/** The ring as of `now`: who signs, what is published, and until when. */
export function keyView(keys: readonly RingKey[], now: number, retentionMs: number): KeyView {
  const statuses: KeyView['statuses'] = [];
  const signing: PrivateJwk[] = [];
  const others: Array<PrivateJwk & { key_ops: string[] }> = [];
  let nextChangeAt: number | undefined;
  const soonest = (t: number) => {
    if (t > now && (nextChangeAt === undefined || t < nextChangeAt)) nextChangeAt = t;
  };
  for (const alg of SIGNING_ALGORITHMS) {
    const ofAlg = keys.filter((k) => k.alg === alg).sort((a, b) => b.activatesAt - a.activatesAt);
    const currentIndex = ofAlg.findIndex((k) => k.activatesAt <= now);
    ofAlg.forEach((key, index) => {
      const { activatesAt, createdAt: _created, ...jwk } = key;
      if (index < currentIndex || currentIndex === -1) {
        statuses.push({ kid: key.kid, alg, status: 'next', activatesAt, retiresAt: undefined });
        others.push({ ...jwk, key_ops: ['verify'] });
        soonest(activatesAt);
        return;
      }
      if (index === currentIndex) {
        statuses.push({ kid: key.kid, alg, status: 'current', activatesAt, retiresAt: undefined });
        signing.push(jwk);
        return;
      }
      // Retired when its successor activated; published until every token it signed expired.
      const successor = ofAlg[index - 1];
      const retiresAt = (successor?.activatesAt ?? now) + retentionMs;
      if (retiresAt <= now) return;
      statuses.push({ kid: key.kid, alg, status: 'retired', activatesAt, retiresAt });
      others.push({ ...jwk, key_ops: ['verify'] });
      soonest(retiresAt);
    });
  }
  const published = [...signing, ...others];
  const fingerprint = published.map((k) => `${k.kid}:${'key_ops' in k ? 'v' : 's'}`).join(',');
  return { signing, published, statuses, nextChangeAt, fingerprint };
}

export interface RotationResult {
  /** False when a rotation was already pending: nothing was added. */
  rotated: boolean;
  activatesAt: number;
  kids: string[];
  /**
   * Whether the rotation went out on the store's channel (on Redis, to every instance; SQLite's
   * and memory's channels reach only their own process). Instances that did not hear it reload
   * the ring at their next poll instead.
   */
  announced: boolean;
}

/**
 * Adds a new key pair that signs from `now + rollInMs` on, unless one is already pending (so two
 * instances rotating at once add one pair), drops keys whose retention has passed, and announces
 * the new ring to every instance.
 */
export async function rotateKeys(
  store: Store,
  sealing: Sealing,
  options: { rollInMs: number; retentionMs: number; now?: number },
): Promise<RotationResult> {
  const result = await withLock(store, ROTATE_LOCK, async () => {
    const now = options.now ?? Date.now();
    const { keys } = await storedOrFirstRing(store, sealing);
    const pending = keys.filter((k) => k.activatesAt > now);
    if (pending.length > 0)
      return {
        rotated: false,
        activatesAt: Math.min(...pending.map((k) => k.activatesAt)),
        kids: pending.map((k) => k.kid),
      };
    const activatesAt = now + options.rollInMs;
    const added = await Promise.all(SIGNING_ALGORITHMS.map((alg) => generateSigningKey(alg, activatesAt)));
    // Keep what the view still publishes once the new keys sign: the current keys (to retire) and
    // retired keys still inside their retention.
    const kept = keys.filter((key) => keyView(keys, now, options.retentionMs).statuses.some((s) => s.kid === key.kid));
    await store.set(RING_KEY, sealing.seal({ keys: [...kept, ...added] } satisfies KeyRing));
    return { rotated: true, activatesAt, kids: added.map((k) => k.kid) };
  });
  if (!result.rotated) return { ...result, announced: false };
  // Best effort, after the write: the ring is what counts, the message only saves the wait.
  const announced = await store.publish(KEYS_CHANGED_CHANNEL, result.kids.join(' ')).then(
    () => true,
    () => false,
  );
  return { ...result, announced };
}

/** The public half of a private JWK (what the JWKS publishes). */
export function publicJwk(key: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = key;
  return pub;
}
