/**
 * A @fastify/rate-limit store on Redis, so that a limit holds across every gateway instance that
 * shares the store: one fixed-window counter per key, `INCR` + `PEXPIRE` in one Lua script (one
 * key, so it runs atomically on one server and on the master that owns the key in a cluster).
 *
 * It has its own connection to the Redis that `GATEWAY_STORE` names, made as the store makes its
 * own (adapters/redis-store.ts `connect`; the limiter must not queue behind the store): failing
 * fast (no offline queue, a 1 s deadline on every call, reconnecting by itself), and when Redis fails the limiter
 * lets requests through (`skipOnError`), so a Redis outage shows as the store's own 503s, not as
 * a wall of 429s.
 */
import type { FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import { connect, withDeadline } from '../../adapters/redis-store.ts';
import { parseRedisUrl } from '../../adapters/redis-url.ts';

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

/** Connects to the Redis (or Redis Cluster) at `url`, as the store does; keys start with `prefix`. */
export async function connectRedisRateLimit(url: string, prefix: string): Promise<RedisRateLimit> {
  const target = parseRedisUrl(url);
  const connection = await connect(url, target);
  const send = (key: string, args: string[]) => withDeadline(connection.send(key, false, args), 'the rate limiter', target.where);

  class RedisRateLimitStore {
    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void, timeWindow: number): void {
      const redisKey = prefix + key;
      send(redisKey, ['EVAL', HIT, '1', redisKey, String(timeWindow)]).then(
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
        await withDeadline(connection.close(), 'QUIT', target.where);
      } catch {
        connection.destroy();
      }
    },
  };
}
