/**
 * Limits that protect what is attacked without refusing what people normally do. Successful
 * traffic is never counted: an office of thousands behind one address signing in, or an app
 * server refreshing a thousand tokens a second, never meets a limit. What is counted:
 *
 * - failures, the way Keycloak's brute-force detection and Authelia's regulation count failed
 *   attempts: a bad client authentication or an invalid code, per client and address and per
 *   address; a bad `state` at a callback and a failed registration, per address. Past the limit
 *   within the window, that key is refused (429) until the window ends;
 * - sign-ins started per address (each keeps an interaction in the store for a few minutes), so
 *   one address cannot grow the store by more than the stated amount per minute.
 *
 * Counters are fixed windows in the store (`increment`), so every instance sharing a Redis counts
 * together. Whether a key is refused is answered locally, with no store round trip: the instance
 * that sees a counter pass its limit tells every instance (the store's channel), as sign-outs are
 * told, and each keeps the refusal in a bounded local map until it ends. So the success path costs
 * nothing, and a failure costs one store round trip.
 */
import type { Store } from '../../adapters/store.ts';
import { BoundedCache } from '../web/bounded-cache.ts';

/** What one counter allows. */
export interface Limit {
  /** What is counted (a metric label, and part of the store key). */
  readonly name: string;
  /** Events allowed per window; 0 turns the limit off. */
  readonly max: number;
  readonly windowMs: number;
}

export interface Regulation {
  /**
   * Seconds until `key` may act again under every one of `limits`; 0 when it is refused under
   * none. Local only: no store round trip.
   */
  retryAfter(checks: ReadonlyArray<readonly [Limit, string]>): number;
  /**
   * Counts one event against `key` under `limit` and returns the count so far in the window (0
   * when the limit is off). From the `max`-th event on, every instance refuses the key until the
   * window ends, before looking at its requests: `max` failures are allowed, or `max` steps.
   */
  count(limit: Limit, key: string): Promise<number>;
  stop(): Promise<void>;
}

const CHANNEL = 'regulation:refused';

export interface RegulationOptions {
  log: { warn(obj: object, msg: string): void };
  /** Told of each key refused (metrics, audit). */
  onRefused?: (limit: Limit, key: string) => void;
}

export async function startRegulation(store: Store, options: RegulationOptions): Promise<Regulation> {
  const refused = new BoundedCache<number>(100_000);
  const remember = (key: string, until: number) => {
    if (until > Date.now() && (refused.get(key) ?? 0) < until) refused.set(key, until, until);
  };
  let unsubscribe: (() => Promise<void>) | undefined;
  try {
    unsubscribe = await store.subscribe(CHANNEL, (message) => {
      try {
        const { key, until } = JSON.parse(message) as { key?: unknown; until?: unknown };
        if (typeof key === 'string' && typeof until === 'number') remember(key, until);
      } catch {
        // Not ours: ignore.
      }
    });
  } catch (error) {
    options.log.warn(
      { err: (error as Error).message },
      'cannot hear refusals from other instances; each counts on its own store counters',
    );
  }
  return {
    retryAfter(checks) {
      const now = Date.now();
      let until = 0;
      for (const [limit, key] of checks) until = Math.max(until, refused.get(`${limit.name}|${key}`, now) ?? 0);
      return until > now ? Math.ceil((until - now) / 1000) : 0;
    },
    async count(limit, key) {
      if (limit.max <= 0) return 0;
      const counted = `${limit.name}|${key}`;
      const count = await store.increment(`regulation:${counted}`, limit.windowMs);
      if (count < limit.max) return count;
      if (count === limit.max) {
        // The window is the counter's: a refusal ends with it, at most `windowMs` from now.
        const until = Date.now() + limit.windowMs;
        remember(counted, until);
        options.onRefused?.(limit, key);
        store
          .publish(CHANNEL, JSON.stringify({ key: counted, until }))
          .catch((error: unknown) =>
            options.log.warn({ err: (error as Error).message }, 'could not tell the other instances about a refusal'),
          );
      } else {
        // Past the limit here means the refusal was missed (decided elsewhere, message lost):
        // refuse locally for a moment; the counter keeps answering until its window ends.
        remember(counted, Date.now() + 1000);
      }
      return count;
    },
    async stop() {
      await unsubscribe?.().catch(() => undefined);
    },
  };
}

/**
 * No `Sec-Fetch-Dest` (a program, not a browser), or one that a navigation has (W3C Fetch
 * Metadata): a sign-in step. Anything else is a subresource another site made its visitor's
 * browser fetch (an `<img>`, a script), which must neither start a sign-in nor be counted.
 */
export function isNavigationDestination(dest: string | undefined): boolean {
  return dest === undefined || dest === '' || dest === 'document' || dest === 'iframe' || dest === 'frame';
}

/** The key of a client address: IPv6 by its /64 (one host, one subnet), IPv4 whole. */
export function addressKey(ip: string): string {
  const address = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
  if (!address.includes(':')) return `addr:${address}`;
  const groups = expandIpv6(address);
  return `addr:${groups.slice(0, 4).join(':')}::/64`;
}

/** The key of a client at an address (client ids are printable; anything else is encoded). */
export function clientKey(clientId: string, ip: string): string {
  return `client:${encodeURIComponent(clientId.slice(0, 128))}|${addressKey(ip)}`;
}

function expandIpv6(address: string): string[] {
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const missing = Math.max(0, 8 - left.length - right.length);
  return [...left, ...Array.from({ length: missing }, () => '0'), ...right].map((group) => group.toLowerCase());
}
