/**
 * Input checks shared by every Store backend, so memory, SQLite and Redis refuse the same inputs
 * with the same errors (the contract suite holds them to it) instead of each failing its own way:
 * keyv would store `undefined` as `{}`, Redis would refuse `PX 0` with a protocol error, and
 * SQLite would store a NaN expiry as NULL, which means "never".
 */

/**
 * The JSON text stored for `value`. Throws a TypeError for what JSON cannot encode (undefined, a
 * function, a symbol; BigInt and cycles throw from JSON.stringify itself), since a store that
 * silently kept `{}` would hand back something the caller never wrote.
 */
export function encodeValue(value: unknown): string {
  const json: string | undefined = JSON.stringify(value);
  if (json === undefined) throw new TypeError(`a store value must be JSON-encodable, got ${typeof value}`);
  return json;
}

/**
 * A TTL as whole milliseconds (rounded up, as Redis `PX` takes integers). `undefined` stays
 * undefined (no expiry); zero, negative or non-finite values throw a RangeError.
 */
export function positiveTtl(ttlMs: number | undefined, operation: string): number | undefined {
  if (ttlMs === undefined) return undefined;
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) {
    throw new RangeError(`${operation}: ttlMs must be a finite number > 0, got ${ttlMs}`);
  }
  return Math.ceil(ttlMs);
}

/**
 * The TTL of a plain `set`: undefined (no expiry), whole positive milliseconds, or `'delete'` for
 * `ttlMs <= 0` (the contract: an already-expired write removes the key, where keyv would silently
 * skip it and leave the old value in place).
 */
export function setTtl(ttlMs: number | undefined): number | 'delete' | undefined {
  if (ttlMs === undefined) return undefined;
  if (Number.isNaN(ttlMs)) throw new RangeError('set: ttlMs must be a number, got NaN');
  if (ttlMs <= 0) return 'delete';
  if (ttlMs === Infinity) return undefined;
  return Math.ceil(ttlMs);
}
