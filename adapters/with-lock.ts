/**
 * A lock over the store contract (SET NX PX on Redis): runs `fn` while holding `key`, so that one
 * instance at a time does a thing (e.g. refresh one user's upstream token).
 *
 * The lock is a short lease that its holder renews while `fn` runs (compare-and-extend, so a
 * holder never renews a lock that has passed to someone else): a holder that dies (SIGKILL, OOM,
 * a lost node) frees it within one lease, not after the longest thing a holder might ever do, so
 * the next request proceeds at once instead of waiting out a long timeout. Release is
 * compare-and-delete, so a late holder never frees a lock that has since passed to someone else.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from './store.ts';

export class LockTimeoutError extends Error {
  constructor(key: string) {
    super(`timed out waiting for lock ${key}`);
    this.name = 'LockTimeoutError';
  }
}

/** How long a lease lasts unless renewed: what a dead holder costs the next one. */
export const LOCK_LEASE_MS = 3_000;

/** Runs `fn` under the lock `key`; waits up to `waitMs` for it. */
export async function withLock<T>(
  store: Store,
  key: string,
  fn: () => Promise<T>,
  options: { leaseMs?: number; waitMs?: number } = {},
): Promise<T> {
  const leaseMs = options.leaseMs ?? LOCK_LEASE_MS;
  const deadline = Date.now() + (options.waitMs ?? 15_000);
  const token = randomUUID();
  let delay = 10;
  while (!(await store.setIfAbsent(key, token, leaseMs))) {
    if (Date.now() > deadline) throw new LockTimeoutError(key);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 100);
  }
  // Renew at a third of the lease, so two missed renewals still keep it.
  const renewal = setInterval(
    () => {
      store.extendIfValue(key, token, leaseMs).catch(() => undefined);
    },
    Math.max(10, Math.floor(leaseMs / 3)),
  );
  renewal.unref();
  try {
    return await fn();
  } finally {
    clearInterval(renewal);
    await store.deleteIfValue(key, token);
  }
}
