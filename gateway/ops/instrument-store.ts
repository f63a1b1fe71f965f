/**
 * The store, measured: every operation's latency and every failure, for `/metrics`
 * (`gateway_store_operation_duration_seconds`, `gateway_store_errors_total`). Behaviour is
 * unchanged: values, errors (StoreUnavailableError, TypeError, RangeError) and timing pass
 * through as they are.
 */
import { inSpan, tracingEnabled } from './tracing.ts';
import type { Store } from '../../adapters/store.ts';
import type { GatewayMetrics } from './gateway-metrics.ts';

type Operation =
  | 'get'
  | 'getMany'
  | 'set'
  | 'delete'
  | 'setIfAbsent'
  | 'setIfAbsentWithOwner'
  | 'deleteIfValue'
  | 'addToSet'
  | 'setMembers'
  | 'increment'
  | 'extendIfValue'
  | 'ping'
  | 'publish';

/** Wraps `store` so that each call is timed and each failure counted. */
export function instrumentStore(store: Store, metrics: Pick<GatewayMetrics, 'storeDuration' | 'storeErrors'>): Store {
  const labelsOf: Partial<Record<Operation, { operation: Operation }>> = {};
  async function measure<T>(operation: Operation, run: () => Promise<T>): Promise<T> {
    // A child span of the request's when tracing is on (tracing.ts); no key is recorded (keys
    // name sessions and accounts).
    if (tracingEnabled())
      return inSpan(`store.${operation}`, { 'db.operation.name': operation }, () => timed(operation, run));
    return timed(operation, run);
  }
  async function timed<T>(operation: Operation, run: () => Promise<T>): Promise<T> {
    // One labels object per operation, made once: prom-client's startTimer builds several per call.
    labelsOf[operation] ??= { operation };
    const labels = labelsOf[operation];
    const started = performance.now();
    try {
      return await run();
    } catch (error) {
      // A caller's bad input (TypeError, RangeError) is a bug, not a store failure.
      if (!(error instanceof TypeError) && !(error instanceof RangeError)) metrics.storeErrors.inc({ operation });
      throw error;
    } finally {
      metrics.storeDuration.observe(labels, (performance.now() - started) / 1000);
    }
  }
  const measured: Partial<Record<PropertyKey, unknown>> = {
    get: (key: string) => measure('get', () => store.get(key)),
    getMany: (keys: readonly string[]) => measure('getMany', () => store.getMany(keys)),
    set: (key: string, value: unknown, ttlMs?: number) => measure('set', () => store.set(key, value, ttlMs)),
    delete: (key: string) => measure('delete', () => store.delete(key)),
    setIfAbsent: (key: string, value: unknown, ttlMs?: number) =>
      measure('setIfAbsent', () => store.setIfAbsent(key, value, ttlMs)),
    setIfAbsentWithOwner: (key: string, value: unknown, ownerKey: string, ttlMs: number) =>
      measure('setIfAbsentWithOwner', () => store.setIfAbsentWithOwner(key, value, ownerKey, ttlMs)),
    deleteIfValue: (key: string, expected: unknown) =>
      measure('deleteIfValue', () => store.deleteIfValue(key, expected)),
    addToSet: (key: string, member: string, ttlMs: number) =>
      measure('addToSet', () => store.addToSet(key, member, ttlMs)),
    setMembers: (key: string) => measure('setMembers', () => store.setMembers(key)),
    increment: (key: string, ttlMs: number) => measure('increment', () => store.increment(key, ttlMs)),
    extendIfValue: (key: string, expected: unknown, ttlMs: number) =>
      measure('extendIfValue', () => store.extendIfValue(key, expected, ttlMs)),
    ping: () => measure('ping', () => store.ping()),
    publish: (channel: string, message: string) => measure('publish', () => store.publish(channel, message)),
  };
  // Everything else of the contract (kind, close, publish/subscribe, whatever comes next) passes
  // through untouched, bound to the store.
  return new Proxy(store, {
    get(target, property) {
      const own = measured[property];
      if (own !== undefined) return own;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
