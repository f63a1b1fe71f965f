/**
 * A Redis for the benchmark, configured as the README's production section asks
 * (`appendonly yes`, `appendfsync everysec`), started for the run on a free loopback port and
 * removed afterwards: no key is shared with anything else on the machine.
 */
import { startRedisServer, type RedisServer } from '../tests/helpers/redis-server.ts';

export function startProductionRedis(): Promise<RedisServer> {
  return startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'everysec'] });
}
