/**
 * The shared store: Redis, for several gateway instances behind one load balancer.
 *
 * Plain get/set/delete go through keyv 5.6 + @keyv/redis, with the key prefix given ONCE as
 * KeyvRedis's namespace and an empty separator (`new Keyv({ store: new KeyvRedis(url) })` would
 * prefix twice, `keyv::keyv:k`), and `throwOnErrors` on both layers, since keyv otherwise turns
 * "Redis is down" into "not found". keyv's serializer is replaced so Redis holds the value's plain
 * JSON text, with the expiry left to Redis's own PX: the atomic operations below then write and
 * compare exactly what keyv reads.
 *
 * The atomic operations bypass keyv (it has no atomics, and read-then-write on it was measured to
 * let 5 parallel redemptions of one code all win) and use the node-redis client underneath:
 * - setIfAbsent: `SET key json NX PX ttl`;
 * - deleteIfValue: a four-line Lua GET-compare-DEL that compares strings and never decodes or
 *   rewrites JSON inside Lua (Redis 7.0's cjson turns `[]` into `{}`);
 * - sets: `SADD` + `PEXPIRE NX` + `PEXPIRE GT` in one MULTI: a new set gets the TTL, an existing
 *   one only ever gets a later expiry (the GT/NX flags need Redis >= 7.0).
 *
 * Failing fast: while the connection is down, commands are rejected at once
 * (`disableOfflineQueue`) instead of queueing, and every call also races a 1 s deadline (node-redis's
 * own command timeout stops counting once a command is written, so a stalled server would
 * otherwise hang it). The client reconnects by itself with a capped backoff. Opening fails within
 * a few seconds with a clear error when Redis cannot be reached at all, so a typo in the URL
 * stops the start-up instead of producing a gateway that fails every request. Messages name the
 * host, never the URL's password.
 */
import KeyvRedis, { createClient } from '@keyv/redis';
import { Keyv, type DeserializedData } from 'keyv';
import type { Store } from './store.ts';
import { encodeValue, positiveTtl, setTtl } from './store-input.ts';

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** Prepended to every key, so several apps can share one Redis database. Default `gateway:`. */
  prefix?: string;
}

/** Every call settles within this, and so does each connection attempt. */
const CALL_TIMEOUT_MS = 1_000;
/** Connection attempts at start-up before giving up (about a second when nothing listens). */
const INITIAL_ATTEMPTS = 3;
/** Reconnect backoff once connected: 100 ms doubling up to 2 s, forever. */
const MAX_BACKOFF_MS = 2_000;

/** Compare-and-delete on the stored string; see the header for why it stays string-only. */
const DELETE_IF_VALUE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** `redis://host:port/db`, without user or password, for error messages. */
function describe(url: URL): string {
  return `${url.protocol}//${url.hostname}:${url.port || '6379'}${url.pathname === '/' ? '' : url.pathname}`;
}

/** Rejects after {@link CALL_TIMEOUT_MS} if `promise` has not settled (and then ignores it). */
function withDeadline<T>(promise: Promise<T>, what: string, where: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`Redis at ${where} did not answer ${what} within ${CALL_TIMEOUT_MS} ms`)),
      CALL_TIMEOUT_MS,
    );
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Connects to `redis://[user:pass@]host:port[/db]` or `rediss://…` (TLS) and resolves once the
 * first connection is up; rejects with a clear Error (cause attached) when it cannot be made.
 */
export async function createRedisStore(url: string, options: RedisStoreOptions = {}): Promise<Store> {
  const prefix = options.prefix ?? 'gateway:';
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // Not the URL itself in the message: it may carry a password.
    throw new Error('the Redis store URL is not a valid URL (expected redis://[user:pass@]host:port[/db])');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new Error(`the Redis store URL must start with redis:// or rediss://, not ${parsed.protocol}//`);
  }
  const where = describe(parsed);

  let connectedOnce = false;
  const client = createClient({
    url,
    disableOfflineQueue: true,
    commandOptions: { timeout: CALL_TIMEOUT_MS },
    socket: {
      connectTimeout: CALL_TIMEOUT_MS,
      // Returning the cause (an Error) makes the pending connect() reject with it.
      reconnectStrategy: (retries: number, cause: Error) => {
        if (connectedOnce) return Math.min(100 * 2 ** retries, MAX_BACKOFF_MS);
        return retries < INITIAL_ATTEMPTS - 1 ? 200 : cause;
      },
    },
  });
  // Connection errors surface as rejected calls and a failing ping(); without a listener,
  // an 'error' event would crash the process.
  client.on('error', () => {});

  try {
    await client.connect();
  } catch (error) {
    // A given-up connect has closed the client already; only a half-open one needs destroying.
    if (client.isOpen) client.destroy();
    throw new Error(`cannot connect to Redis at ${where}: ${(error as Error).message}`, { cause: error });
  }
  connectedOnce = true;

  const keyvRedis = new KeyvRedis(client as unknown as ConstructorParameters<typeof KeyvRedis>[0], {
    namespace: prefix,
    keyPrefixSeparator: '',
    throwOnErrors: true,
  });
  const keyv = new Keyv({
    store: keyvRedis,
    namespace: prefix,
    // KeyvRedis prefixes; keyv must not prefix a second time.
    useKeyPrefix: false,
    throwOnErrors: true,
    serialize: (data: DeserializedData<unknown>) => encodeValue(data.value),
    deserialize: <T>(text: string) => ({ value: JSON.parse(text) as T }),
  });

  let closed = false;
  function guard<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (closed) return Promise.reject(new Error('the Redis store is closed'));
    return withDeadline(run(), what, where);
  }

  return {
    kind: 'redis',

    get<T>(key: string): Promise<T | undefined> {
      // keyv answers undefined for absent; a stored null comes back as null.
      return guard('GET', () => keyv.get<T>(key));
    },

    set(key, value, ttlMs) {
      return guard('SET', async () => {
        encodeValue(value);
        const ttl = setTtl(ttlMs);
        if (ttl === 'delete') await keyv.delete(key);
        else await keyv.set(key, value, ttl);
      });
    },

    delete(key) {
      return guard('DEL', async () => {
        await keyv.delete(key);
      });
    },

    setIfAbsent(key, value, ttlMs) {
      return guard('SET NX', async () => {
        const json = encodeValue(value);
        const ttl = positiveTtl(ttlMs, 'setIfAbsent');
        const reply = await client.set(prefix + key, json, ttl === undefined
          ? { condition: 'NX' }
          : { condition: 'NX', expiration: { type: 'PX', value: ttl } });
        return reply === 'OK';
      });
    },

    deleteIfValue(key, expected) {
      return guard('compare-and-delete', async () => {
        const json = encodeValue(expected);
        const deleted = await client.eval(DELETE_IF_VALUE, { keys: [prefix + key], arguments: [json] });
        return deleted === 1;
      });
    },

    addToSet(key, member, ttlMs) {
      return guard('SADD', async () => {
        const ttl = positiveTtl(ttlMs, 'addToSet') as number;
        await client.multi()
          .sAdd(prefix + key, member)
          .pExpire(prefix + key, ttl, 'NX')
          .pExpire(prefix + key, ttl, 'GT')
          .exec();
      });
    },

    setMembers(key) {
      return guard('SMEMBERS', () => client.sMembers(prefix + key));
    },

    ping() {
      return guard('PING', async () => {
        await client.ping();
      });
    },

    async close() {
      if (closed) return;
      closed = true;
      try {
        await withDeadline(client.close(), 'QUIT', where);
      } catch {
        // Down or stalled: drop the socket rather than wait for it.
        client.destroy();
      }
    },
  };
}
