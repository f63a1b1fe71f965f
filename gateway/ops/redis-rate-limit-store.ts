/**
 * A @fastify/rate-limit store on Redis, so that a limit holds across every gateway instance that
 * shares the store: one fixed-window counter per key, `INCR` + `PEXPIRE` in one Lua script (one
 * key, so it runs atomically on one server and on the master that owns the key in a cluster).
 *
 * It has its own connection to the Redis that `GATEWAY_STORE` names (the store keeps its client
 * private, and the limiter must not queue behind it): failing fast like the store (no offline
 * queue, a 1 s deadline on every call, reconnecting by itself), and when Redis fails the limiter
 * lets requests through (`skipOnError`), so a Redis outage shows as the store's own 503s, not as
 * a wall of 429s.
 */
import { createClient, createCluster, type RedisClientType, type RedisClusterType } from '@keyv/redis';
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { parseRedisUrl } from '../../adapters/redis-url.ts';

const CALL_TIMEOUT_MS = 1_000;
const MAX_BACKOFF_MS = 1_000;

/** Counts one hit; a new window gets its expiry. Returns [count, milliseconds left]. */
const HIT = `
local current = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {current, ttl}`;

export interface RedisRateLimit {
  /** The store class for @fastify/rate-limit's `store` option. */
  Store: FastifyRateLimitStoreCtor;
  close(): Promise<void>;
}

function withDeadline<T>(promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis did not answer the rate limiter within ${CALL_TIMEOUT_MS} ms`)), CALL_TIMEOUT_MS);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Connects to the Redis (or Redis Cluster) at `url`; keys start with `prefix`. */
export async function connectRedisRateLimit(url: string, prefix: string): Promise<RedisRateLimit> {
  const target = parseRedisUrl(url);
  let connectedOnce = false;
  const socket = {
    connectTimeout: CALL_TIMEOUT_MS,
    reconnectStrategy: (retries: number, cause: Error) => (connectedOnce ? Math.min(100 * 2 ** retries, MAX_BACKOFF_MS) : retries < 2 ? 200 : cause),
  };
  let send: (key: string, args: string[]) => Promise<unknown>;
  let close: () => Promise<void>;
  let destroy: () => void;
  if (target.cluster) {
    const cluster = createCluster({
      rootNodes: target.nodes.map(({ host, port }) => ({ socket: { host, port } })),
      defaults: {
        ...(target.username ? { username: target.username } : {}),
        ...(target.password ? { password: target.password } : {}),
        disableOfflineQueue: true,
        socket: target.tls ? { ...socket, tls: true as const } : socket,
      },
      useReplicas: false,
    }) as unknown as RedisClusterType;
    cluster.on('error', () => {});
    cluster.on('node-error', () => {});
    await cluster.connect();
    send = (key, args) => cluster.sendCommand(key, false, args);
    close = () => cluster.close();
    destroy = () => cluster.destroy();
  } else {
    const client = createClient({ url, disableOfflineQueue: true, socket }) as unknown as RedisClientType;
    // Failures surface as rejected calls (then skipOnError); an unhandled 'error' would crash.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (error) {
      if (client.isOpen) client.destroy();
      throw new Error(`the rate limiter cannot connect to Redis at ${target.where}: ${(error as Error).message}`, { cause: error });
    }
    send = (_key, args) => client.sendCommand(args);
    close = () => client.close();
    destroy = () => client.destroy();
  }
  connectedOnce = true;

  class RedisRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const redisKey = prefix + key;
      withDeadline(send(redisKey, ['EVAL', HIT, '1', redisKey, String(timeWindow)])).then(
        (reply) => {
          const [current, ttl] = reply as [number, number];
          callback(null, { current: Number(current), ttl: Number(ttl) });
        },
        (error: unknown) => callback(error as Error),
      );
    }

    child(): RedisRateLimitStore {
      return this;
    }
  }

  return {
    Store: RedisRateLimitStore as unknown as FastifyRateLimitStoreCtor,
    async close() {
      try {
        await withDeadline(close());
      } catch {
        destroy();
      }
    },
  };
}
