/**
 * The memory store with faults at chosen calls, for tests of what a half-done multi-step write
 * leaves behind: a call that fails (a store outage, as the caller sees it: StoreUnavailableError)
 * or stalls (an instance frozen, or dead, at exactly that step). Calls are picked by method name
 * and key, so a test can cut a flow off between two of its writes without killing a process.
 */
import { createMemoryStore } from '../../adapters/memory-store.ts';
import { StoreUnavailableError } from '../../adapters/store-errors.ts';
import type { Store } from '../../adapters/store.ts';

/**
 * Which store calls a fault hits: by method name and first argument (the key, or the channel); a
 * `getMany` is picked as a `get` of each of its keys.
 */
export type Match = (method: string, key: string) => boolean;

export interface FaultyStore {
  store: Store;
  /** Calls `match` picks fail until the returned function is called. */
  fail(match: Match): () => void;
  /** Calls `match` picks stall until the returned function is called. */
  freeze(match: Match): () => void;
}

export function faultyStore(): FaultyStore {
  const inner = createMemoryStore();
  const failing = new Set<Match>();
  const frozen = new Map<Match, Promise<void>>();
  const store = new Proxy(inner, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (typeof value !== 'function') return value;
      return async (key: string | string[], ...rest: unknown[]) => {
        const method = String(property);
        // A read of several keys is picked as a `get` of any one of them would be.
        const calls: Array<[string, string]> = Array.isArray(key) ? key.map((k) => ['get', k]) : [[method, key]];
        const picked = (match: Match) => calls.some(([m, k]) => match(m, k));
        for (const match of failing) if (picked(match)) throw new StoreUnavailableError(`fault injected on ${method}`);
        for (const [match, thawed] of frozen) if (picked(match)) await thawed;
        return (value as (...args: unknown[]) => unknown).call(target, key, ...rest);
      };
    },
  });
  return {
    store,
    fail(match) {
      failing.add(match);
      return () => failing.delete(match);
    },
    freeze(match) {
      let thaw = () => {};
      frozen.set(match, new Promise<void>((resolve) => (thaw = resolve)));
      return () => {
        frozen.delete(match);
        thaw();
      };
    },
  };
}

/** Picks only the first call that `match` picks: one write cut off, the next ones through. */
export function firstOf(match: Match): Match {
  let seen = false;
  return (method, key) => {
    if (seen || !match(method, key)) return false;
    seen = true;
    return true;
  };
}
