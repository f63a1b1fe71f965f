/**
 * Signed-out SSO sessions, known to every instance within moments and checked with no store round
 * trip: `/oauth2/auth` verifies cookies offline, so a sign-out anywhere (another instance, the
 * CLI) must reach each instance's memory. Each instance keeps the revoked uids in a bounded local
 * set, fed three ways:
 *
 * - the store's channel (Redis PUBLISH on a shared Redis): at once;
 * - the store itself: every revocation is also added to a set in the store, which each instance
 *   reads when it starts (an instance started after a sign-out refuses that session from its
 *   first request) and again every few seconds: the only way a sign-out from another process
 *   reaches it on SQLite, whose channel is in-process, and the backstop for a message missed on
 *   Redis while disconnected;
 * - its own sign-outs, directly.
 *
 * A uid needs remembering only as long as a token of its session can live (the access-token
 * lifetime plus skew, `lifetimeMs`): the store's sets are buckets of that length, each kept for
 * two, and an instance reads the current and the previous bucket.
 */
import type { Store } from '../../adapters/store.ts';
import { BoundedCache } from '../web/bounded-cache.ts';

const CHANNEL = 'sessions:revoked';
const UID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

/** How long a revocation must be remembered, from the access-token lifetime (in seconds). */
export function revocationLifetimeMs(accessTokenTtlSeconds: number): number {
  return (accessTokenTtlSeconds + 60) * 1000;
}

const bucketKey = (bucket: number) => `${CHANNEL}:${bucket}`;

/**
 * Records that an SSO session (by its uid) is over, for every instance, running or not yet
 * started: in the store's bucket and on its channel (used by the CLI; gateways call `revoke`).
 */
export async function recordRevokedSession(store: Store, uid: string, lifetimeMs: number): Promise<void> {
  const bucket = Math.floor(Date.now() / lifetimeMs);
  await store.addToSet(bucketKey(bucket), uid, 2 * lifetimeMs);
  await store.publish(CHANNEL, uid);
}

export interface RevokedSessions {
  isRevoked(uid: string | undefined): boolean;
  /** Refuses the session here at once and tells every other instance. */
  revoke(uid: string): void;
  /** Stops listening. */
  stop(): Promise<void>;
}

/**
 * How often the store's buckets are read again: each second where the channel does not cross
 * processes (SQLite: a CLI sign-out reaches the gateways only this way); on Redis, whose channel
 * does, only as the backstop for a missed message.
 */
function pollIntervalMs(kind: Store['kind']): number {
  return kind === 'redis' || kind === 'redis-cluster' ? 10_000 : 1_000;
}

export async function startRevokedSessions(
  store: Store,
  lifetimeMs: number,
  log: { warn(obj: object, msg: string): void },
): Promise<RevokedSessions> {
  const revoked = new BoundedCache<true>(100_000);
  const remember = (uid: string) => {
    if (!revoked.has(uid)) revoked.set(uid, true, Date.now() + lifetimeMs);
  };
  let storeWarned = false;
  const readStore = async () => {
    const bucket = Math.floor(Date.now() / lifetimeMs);
    try {
      const [current, previous] = await Promise.all([
        store.setMembers(bucketKey(bucket)),
        store.setMembers(bucketKey(bucket - 1)),
      ]);
      for (const uid of [...current, ...previous]) if (UID_PATTERN.test(uid)) remember(uid);
      storeWarned = false;
    } catch (error) {
      // Once per outage: the store's own errors are reported where requests meet them.
      if (!storeWarned)
        log.warn({ err: (error as Error).message }, 'cannot read the sign-outs of other instances from the store');
      storeWarned = true;
    }
  };
  let unsubscribe: (() => Promise<void>) | undefined;
  try {
    unsubscribe = await store.subscribe(CHANNEL, (uid) => {
      if (UID_PATTERN.test(uid)) remember(uid);
    });
  } catch (error) {
    log.warn(
      { err: (error as Error).message },
      'cannot listen for sign-outs on other instances; reading them from the store instead',
    );
  }
  await readStore();
  const poll = setInterval(() => void readStore(), pollIntervalMs(store.kind));
  poll.unref();
  return {
    isRevoked: (uid) => uid !== undefined && revoked.has(uid),
    revoke(uid) {
      revoked.set(uid, true, Date.now() + lifetimeMs);
      recordRevokedSession(store, uid, lifetimeMs).catch((error: unknown) =>
        log.warn({ err: (error as Error).message }, 'could not tell the other instances about a sign-out'),
      );
    },
    async stop() {
      clearInterval(poll);
      await unsubscribe?.().catch(() => undefined);
    },
  };
}
