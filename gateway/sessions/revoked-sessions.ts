/**
 * Signed-out SSO sessions, known to every instance within moments and checked with no store round
 * trip: `/oauth2/auth` verifies cookies offline, so a logout on one instance must reach the
 * others' memory. A revocation is kept in a bounded local set and published on the store's channel
 * (Redis PUBLISH on a shared Redis); every instance adds what it hears to its own set. Entries live
 * as long as a token of the session can (the access-token lifetime): that lifetime is also the
 * backstop for an instance that missed the message (disconnected at that moment).
 */
import type { Store } from '../../adapters/store.ts';
import { BoundedCache } from '../web/bounded-cache.ts';

const CHANNEL = 'sessions:revoked';

/** Tells every running instance that an SSO session (by its uid) is over (used by the CLI too). */
export function publishRevokedSession(store: Store, uid: string): Promise<void> {
  return store.publish(CHANNEL, uid);
}
const UID_PATTERN = /^[A-Za-z0-9_-]{1,128}$/;

export interface RevokedSessions {
  isRevoked(uid: string | undefined): boolean;
  /** Refuses the session here at once and tells every other instance. */
  revoke(uid: string): void;
  /** Stops listening. */
  stop(): Promise<void>;
}

export async function startRevokedSessions(
  store: Store,
  lifetimeMs: number,
  log: { warn(obj: object, msg: string): void },
): Promise<RevokedSessions> {
  const revoked = new BoundedCache<true>(100_000);
  const remember = (uid: string) => revoked.set(uid, true, Date.now() + lifetimeMs);
  let unsubscribe: (() => Promise<void>) | undefined;
  try {
    unsubscribe = await store.subscribe(CHANNEL, (uid) => {
      if (UID_PATTERN.test(uid)) remember(uid);
    });
  } catch (error) {
    log.warn(
      { err: (error as Error).message },
      'cannot listen for sign-outs on other instances; relying on token lifetimes',
    );
  }
  return {
    isRevoked: (uid) => uid !== undefined && revoked.has(uid),
    revoke(uid) {
      remember(uid);
      store
        .publish(CHANNEL, uid)
        .catch((error: unknown) =>
          log.warn({ err: (error as Error).message }, 'could not tell the other instances about a sign-out'),
        );
    },
    async stop() {
      await unsubscribe?.().catch(() => undefined);
    },
  };
}
