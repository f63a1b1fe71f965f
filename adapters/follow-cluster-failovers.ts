/**
 * Makes a node-redis cluster client follow a failover: the one place that reaches into
 * node-redis's internals, checked against @redis/client 5.12 (the range @keyv/redis 5 brings).
 *
 * node-redis re-reads a cluster's slot map only when a node answers MOVED or ASK. A master that
 * dies answers nothing: its slots stay routed to its dead address, where the client reconnects
 * forever, and once its replica has taken over (after `cluster-node-timeout` and an election)
 * no command is ever sent to a node that would answer MOVED. Measured here: with a master killed,
 * every call for its slots still failed 4 s after its replica was promoted, and would have until
 * a restart. So each failure of a node's connection, and each failed call (the returned
 * function), asks the cluster for its slot map again (at most every `minIntervalMs`), through
 * `_slots.rediscover`, the method node-redis itself calls on MOVED. The dead node's reconnect
 * attempts (every second at most, redis-store.ts) keep asking even without traffic, until a live
 * node reports the new master; then the dead address is dropped.
 *
 * tests/redis-cluster-failover.test.ts fails when a new node-redis changes this (and opening a
 * cluster store fails at once when the method is gone), rather than failovers silently stopping.
 */
import { createRequire } from 'node:module';
import type { RedisClusterType } from '@keyv/redis';

/** The @redis/client versions this file was checked against: 5.12 and later 5.x. */
export const CHECKED_REDIS_CLIENT = { major: 5, minMinor: 12 } as const;

/** Throws, with what to do, when the installed @redis/client is outside {@link CHECKED_REDIS_CLIENT}. */
export function assertCheckedRedisClient(version: string = installedRedisClientVersion()): void {
  const [major, minor] = version.split('.').map(Number);
  if (major === CHECKED_REDIS_CLIENT.major && (minor ?? 0) >= CHECKED_REDIS_CLIENT.minMinor) return;
  throw new Error(
    `@redis/client ${version} is installed, but adapters/follow-cluster-failovers.ts was checked against ` +
      `${CHECKED_REDIS_CLIENT.major}.${CHECKED_REDIS_CLIENT.minMinor}–${CHECKED_REDIS_CLIENT.major}.x: install a checked version (npm ci), or check the file and widen the range`,
  );
}

function installedRedisClientVersion(): string {
  // @redis/client is @keyv/redis's dependency: resolved from there, as the store loads it.
  const fromKeyv = createRequire(createRequire(import.meta.url).resolve('@keyv/redis'));
  return (fromKeyv('@redis/client/package.json') as { version: string }).version;
}

/** What this file uses of node-redis's cluster client, internals included. */
interface ClusterInternals {
  _slots?: { rediscover?: (startWith: unknown) => Promise<void> };
  masters: Array<{ client?: { isReady: boolean } }>;
  on(event: 'node-error', listener: () => void): unknown;
}

/**
 * Asks for the slot map again whenever a node's connection fails, and returns the same ask for
 * the caller's failed calls; throws if node-redis changed.
 */
export function followClusterFailovers(cluster: RedisClusterType, minIntervalMs = 200): () => void {
  assertCheckedRedisClient();
  const internals = cluster as unknown as ClusterInternals;
  const slots = internals._slots;
  const rediscover = slots?.rediscover?.bind(slots);
  if (!rediscover) {
    throw new Error(
      'this @redis/client has no RedisCluster._slots.rediscover: adapters/follow-cluster-failovers.ts must be checked against it',
    );
  }
  let running = false;
  let last = 0;
  const ask = () => {
    if (running || Date.now() - last < minIntervalMs) return;
    // Asked first, a live master answers at once; the dead one would cost a connect timeout
    // before node-redis falls back to the URL's nodes.
    const startWith =
      internals.masters.find((master) => master.client?.isReady)?.client ?? internals.masters[0]?.client;
    if (!startWith) return;
    running = true;
    rediscover(startWith)
      .catch(() => undefined)
      .finally(() => {
        running = false;
        last = Date.now();
      });
  };
  internals.on('node-error', ask);
  return ask;
}
