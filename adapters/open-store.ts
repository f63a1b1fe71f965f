/**
 * Opens the store a URL names, so configuration picks the backend with one setting:
 * `memory://`, `sqlite://PATH` (relative to the working directory; `sqlite:///abs/path` for an
 * absolute one), `redis://[user:pass@]host:port[/db]` or `rediss://…` (TLS), and a Redis Cluster
 * as `redis+cluster://[user:pass@]host:port,host:port,…` (`rediss+cluster://` for TLS; any
 * reachable nodes of the cluster, the client discovers the rest).
 *
 * Backends are imported on demand, so a memory or SQLite gateway never loads the Redis client and
 * a Redis gateway never opens `node:sqlite`.
 */
import { resolve } from 'node:path';
import type { Store } from './store.ts';

/** Options of {@link openStore}. */
export interface OpenStoreOptions {
  /** Prepended to every key (SQLite, Redis). Default `gateway:`. */
  prefix?: string;
}

/** The key prefix when none is given: the gateway's keys stay apart from other apps' in Redis. */
export const DEFAULT_STORE_PREFIX = 'gateway:';

/** Opens the store named by `url`; an unknown scheme throws an Error naming the supported ones. */
export async function openStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const prefix = options.prefix ?? DEFAULT_STORE_PREFIX;
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case 'memory': {
      const { createMemoryStore } = await import('./memory-store.ts');
      return createMemoryStore();
    }
    case 'sqlite': {
      const path = url.slice('sqlite://'.length);
      if (!url.toLowerCase().startsWith('sqlite://') || path === '') {
        throw new Error('a SQLite store URL is sqlite://PATH (e.g. sqlite://data/gateway.db)');
      }
      const { createSqliteStore } = await import('./sqlite-store.ts');
      return createSqliteStore(resolve(process.cwd(), decodeURIComponent(path)), { prefix });
    }
    case 'redis':
    case 'rediss':
    case 'redis+cluster':
    case 'rediss+cluster': {
      const { createRedisStore } = await import('./redis-store.ts');
      return createRedisStore(url, { prefix });
    }
    default:
      // Only the scheme in the message: the rest of a URL may carry a password.
      throw new Error(
        `unsupported store URL scheme ${scheme === undefined ? '(none)' : `"${scheme}:"`}; ` +
          'expected memory://, sqlite://PATH, redis://host:port, rediss://host:port or redis+cluster://host:port,host:port',
      );
  }
}
