/**
 * A lock over the store contract (SET NX PX on Redis): runs `fn` while holding `key`, so that one
 * instance at a time does a thing (e.g. refresh one user's upstream token). The lock expires by
 * itself if its holder dies; release is compare-and-delete, so a late holder never frees a lock
 * that has since passed to someone else.
 */
import { randomUUID } from 'node:crypto';
import type { Store } from './store.ts';

export class LockTimeoutError extends Error {
  constructor(key: string) {
    super(`timed out waiting for lock ${key}`);
    this.name = 'LockTimeoutError';
  }
}

/** Runs `fn` under the lock `key`; waits up to `waitMs` for it. */
export async function withLock<T>(
  store: Store,
  key: string,
  fn: () => Promise<T>,
  options: { holdMs?: number; waitMs?: number } = {},
): Promise<T> {
  const holdMs = options.holdMs ?? 15_000;
  const deadline = Date.now() + (options.waitMs ?? 15_000);
  const token = randomUUID();
  let delay = 10;
  while (!(await store.setIfAbsent(key, token, holdMs))) {
    if (Date.now() > deadline) throw new LockTimeoutError(key);
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 100);
  }
  try {
    return await fn();
  } finally {
    await store.deleteIfValue(key, token);
  }
}
