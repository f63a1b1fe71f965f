/**
 * The shared store: Redis, for several gateway instances behind one load balancer. One server
 * (`redis://`, `rediss://`; user, password and db in the URL) or a Redis Cluster
 * (`redis+cluster://[user:pass@]host:port,host:port,…`, or `rediss+cluster://` for TLS), the
 * distributed engine for when one machine is not enough: the listed nodes are only where the
 * client starts; it learns the slot map from them and follows MOVED/ASK redirections by itself.
 *
 * Plain get/set/delete go through keyv 5.6 + @keyv/redis (which speaks to a cluster too), with
 * the key prefix given ONCE as KeyvRedis's namespace and an empty separator
 * (`new Keyv({ store: new KeyvRedis(url) })` would prefix twice, `keyv::keyv:k`), and
 * `throwOnErrors` on both layers, since keyv otherwise turns "Redis is down" into "not found".
 * keyv's serializer is replaced so Redis holds the value's plain JSON text, with the expiry left
 * to Redis's own PX: the atomic operations below then write and compare exactly what keyv reads.
 *
 * The atomic operations bypass keyv (it has no atomics, and read-then-write on it was measured to
 * let 5 parallel redemptions of one code all win) and go to the node-redis client underneath:
 * - setIfAbsent: `SET key json NX [PX ttl]`;
 * - deleteIfValue: a Lua GET-compare-DEL that compares strings and never decodes or rewrites
 *   JSON inside Lua (Redis 7.0's cjson turns `[]` into `{}`);
 * - addToSet: a Lua `SADD` + `PEXPIRE NX` + `PEXPIRE GT`: a new set gets the TTL, an existing one
 *   only ever a later expiry (the NX/GT flags need Redis >= 7.0);
 * - setIfAbsentWithOwner: a Lua `PTTL` of the owner + `SET NX PX` with what is left of it;
 * - getMany: one `MGET`.
 * Scripts go as EVALSHA, with one EVAL where the server answers NOSCRIPT, so a script's body is
 * not sent and hashed again on every call.
 *
 * Cluster and hash slots: every Store operation but two touches exactly ONE key (one command or
 * one script with one key), so on a cluster each runs atomically on the one master that owns its
 * slot. The two that take several keys look at the slots (redis-key-slot.ts) instead of
 * failing with CROSSSLOT: `getMany` sends one MGET per slot, in parallel; `setIfAbsentWithOwner`
 * runs its script when both keys share a slot and otherwise reads the owner first and then writes
 * (two round trips, the write still atomic). No key carries a `{hash tag}`: what spans keys (a
 * grant's set and its tokens, a consumption marker and its record) is ordered by the oidc Adapter
 * on top (see oidc-adapter.ts), not made atomic by co-location, which could not work anyway: a
 * token is found by its id alone, so its key cannot carry its grant's id. Without tags the keys
 * spread over every master, which is what a cluster is for. Do not put `{…}` in the key prefix on
 * a cluster: the first `{…}` of a key is its hash tag, so it would pin every key to one slot.
 *
 * Failing fast: while the connection is down, commands are rejected at once
 * (`disableOfflineQueue`) instead of queueing, and every call also races a 1 s deadline (node-redis's
 * own command timeout stops counting once a command is written, so a stalled server would
 * otherwise hang it). Failures reach the caller as StoreUnavailableError (503
 * temporarily_unavailable, see store-errors.ts). The client reconnects by itself with a capped
 * backoff (100 ms doubling to 1 s), so service resumes within about a second of Redis coming
 * back. Opening fails within a few seconds with a clear error when Redis cannot be reached at
 * all, so a typo in the URL stops the start-up instead of producing a gateway that fails every
 * request. Messages name the hosts, never the URL's password.
 */
import { createHash } from 'node:crypto';
import KeyvRedis, { createClient, createCluster, type RedisClientType, type RedisClusterType } from '@keyv/redis';
import { Keyv, type DeserializedData } from 'keyv';
import type { Store } from './store.ts';
import { asStoreError, StoreUnavailableError } from './store-errors.ts';
import { encodeValue, positiveTtl, setTtl } from './store-input.ts';
import { parseRedisUrl, type RedisTarget } from '../config/redis-url.ts';
import { followClusterFailovers } from './follow-cluster-failovers.ts';
import { readRedisPersistence, weakestPersistence } from './redis-persistence.ts';
import { keySlot } from './redis-key-slot.ts';

/** Options of {@link createRedisStore}. */
export interface RedisStoreOptions {
  /** Prepended to every key, so several apps can share one Redis database. Default `gateway:`. */
  prefix?: string;
}

/** Every call settles within this, and so does each connection attempt. */
const CALL_TIMEOUT_MS = 1_000;
/** PING settles sooner, so `/readyz` answers within a second even while Redis stalls. */
const PING_TIMEOUT_MS = 500;
/** Connection attempts at start-up before giving up (about a second when nothing listens). */
const INITIAL_ATTEMPTS = 3;
/**
 * Reconnect backoff once connected: 100 ms doubling up to 1 s, forever. A short cap: an attempt
 * to a dead loopback or LAN address costs one refused SYN, and the cap is how long service can
 * stay down after Redis is back.
 */
const MAX_BACKOFF_MS = 1_000;

/** Compare-and-delete on the stored string; see the header for why it stays string-only. */
const DELETE_IF_VALUE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

/** Add a member, give a new set the TTL, and only ever lengthen an existing set's TTL. */
const ADD_TO_SET = `
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2], 'NX')
redis.call('PEXPIRE', KEYS[1], ARGV[2], 'GT')
return 1`;

/** A fixed-window counter: the TTL is set when the counter is created, never extended. */
const INCREMENT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count`;

/** Compare-and-extend: a lock's lease renewed only by its holder (string compare, as above). */
const EXTEND_IF_VALUE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

/**
 * Write beside a live owner, expiring with it (PTTL -1: the owner never expires, so ARGV[2]); 0
 * or -2 (about to expire, or gone) writes nothing. SET NX answers nil, Lua's false, when taken.
 */
const SET_IF_ABSENT_WITH_OWNER = `
local ttl = redis.call('PTTL', KEYS[2])
if ttl == -2 or ttl == 0 then return 0 end
if ttl == -1 then ttl = tonumber(ARGV[2]) end
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ttl) then return 1 end
return 0`;

/** A script and its SHA-1, for EVALSHA. */
interface Script {
  source: string;
  sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const SCRIPTS = {
  deleteIfValue: script(DELETE_IF_VALUE),
  addToSet: script(ADD_TO_SET),
  increment: script(INCREMENT),
  extendIfValue: script(EXTEND_IF_VALUE),
  setIfAbsentWithOwner: script(SET_IF_ABSENT_WITH_OWNER),
};

/** How often the deadlines of calls in flight are looked at. */
const DEADLINE_SWEEP_MS = 50;

/** A call in flight: when it must have settled, and how it fails when it has not. */
interface InFlight {
  at: number;
  expire(): void;
}

/** Calls in flight, in the order they started; swept by one timer while any is left. */
const inFlight = new Set<InFlight>();
let sweeper: NodeJS.Timeout | undefined;

function sweepDeadlines(): void {
  const now = performance.now();
  for (const call of inFlight) {
    if (call.at > now) continue;
    inFlight.delete(call);
    call.expire();
  }
  if (inFlight.size === 0 && sweeper) {
    clearInterval(sweeper);
    sweeper = undefined;
  }
}

/**
 * Rejects with StoreUnavailableError when `promise` has not settled within `ms` (give or take
 * the sweep's 50 ms). One timer sweeps every call in flight, rather than a timer, a Promise.race
 * and a `finally` per call: measurable on a refresh, which makes 14 round trips.
 */
function withDeadline<T>(promise: Promise<T>, what: string, where: string, ms = CALL_TIMEOUT_MS): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const call: InFlight = {
      at: performance.now() + ms,
      expire: () => reject(new StoreUnavailableError(`Redis at ${where} did not answer ${what} within ${ms} ms`)),
    };
    inFlight.add(call);
    if (!sweeper) {
      sweeper = setInterval(sweepDeadlines, DEADLINE_SWEEP_MS);
      // The call's own socket keeps the process alive while it waits; the sweep need not.
      sweeper.unref();
    }
    promise.then(
      (value) => {
        inFlight.delete(call);
        resolve(value);
      },
      (error: unknown) => {
        inFlight.delete(call);
        reject(error);
      },
    );
  });
}

/**
 * What the store sends besides keyv, the same on one server and on a cluster: a command routed
 * by its one key, a command to every master, and closing.
 */
interface Connection {
  client: RedisClientType | RedisClusterType;
  send<T>(key: string, readOnly: boolean, args: string[]): Promise<T>;
  /** Runs `use` for every master (the one server, or each master of the cluster), with a way to send it commands. */
  eachMaster<T>(use: (send: (args: string[]) => Promise<unknown>) => Promise<T>): Promise<T[]>;
  /** Told of every failed call: a cluster looks for a new master of a dead one's slots. */
  failed(): void;
  close(): Promise<void>;
  destroy(): void;
}

/**
 * Connects and resolves once the first connection is up (on a cluster: the slot map is known
 * and every master connected); rejects with a clear Error (cause attached) when it cannot be made.
 */
async function connect(url: string, target: RedisTarget): Promise<Connection> {
  let connectedOnce = false;
  const socket = {
    connectTimeout: CALL_TIMEOUT_MS,
    // Returning the cause (an Error) makes the pending connect() reject with it.
    reconnectStrategy: (retries: number, cause: Error) => {
      if (connectedOnce) return Math.min(100 * 2 ** retries, MAX_BACKOFF_MS);
      return retries < INITIAL_ATTEMPTS - 1 ? 200 : cause;
    },
  };
  if (!target.cluster) {
    const client = createClient({
      url,
      disableOfflineQueue: true,
      // No node-redis command timeout: it builds an AbortSignal (and a DOMException) per command,
      // 7% of the CPU of a refresh; withDeadline() below bounds every call instead.
      socket,
    }) as unknown as RedisClientType;
    // Connection errors surface as rejected calls and a failing ping(); without a listener,
    // an 'error' event would crash the process.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (error) {
      // A given-up connect has closed the client already; only a half-open one needs destroying.
      if (client.isOpen) client.destroy();
      throw new Error(`cannot connect to Redis at ${target.where}: ${(error as Error).message}`, { cause: error });
    }
    connectedOnce = true;
    return {
      client,
      send: (_key, _readOnly, args) => client.sendCommand(args),
      eachMaster: async (use) => [await use((args) => client.sendCommand(args))],
      failed: () => {},
      close: () => client.close(),
      destroy: () => client.destroy(),
    };
  }

  const cluster = createCluster({
    rootNodes: target.nodes.map(({ host, port }) => ({ socket: { host, port } })),
    defaults: {
      ...(target.username ? { username: target.username } : {}),
      ...(target.password ? { password: target.password } : {}),
      disableOfflineQueue: true,
      socket: target.tls ? { ...socket, tls: true as const } : socket,
    },
    // Replicas may lag behind their master: a code consumed a moment ago could look unused there.
    useReplicas: false,
  }) as unknown as RedisClusterType;
  cluster.on('error', () => {});
  cluster.on('node-error', () => {});
  let failed: () => void;
  try {
    await cluster.connect();
    failed = followClusterFailovers(cluster);
  } catch (error) {
    cluster.destroy();
    throw new Error(`cannot connect to the Redis Cluster at ${target.where}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  connectedOnce = true;
  return {
    client: cluster,
    send: (key, readOnly, args) => cluster.sendCommand(key, readOnly, args),
    eachMaster: (use) =>
      Promise.all(
        cluster.masters.map(async (master) => {
          const node = await cluster.nodeClient(master);
          return use((args) => node.sendCommand(args));
        }),
      ),
    failed,
    close: () => cluster.close(),
    destroy: () => cluster.destroy(),
  };
}

/**
 * Connects to the URL (see the header for the forms) and resolves once connected; rejects with a
 * clear Error (cause attached) when it cannot.
 */
export async function createRedisStore(url: string, options: RedisStoreOptions = {}): Promise<Store> {
  const prefix = options.prefix ?? 'gateway:';
  const target = parseRedisUrl(url);
  // Pub/sub channels belong to the whole server, not to a database: gateways on two databases of
  // one Redis must not hear each other's announcements (client changes, sign-outs). Database 0,
  // the default and a cluster's only one, keeps the plain names earlier versions used.
  const channelPrefix = target.database === 0 ? prefix : `${prefix}db${target.database}:`;
  const { where } = target;
  const connection = await connect(url, target);

  const keyvRedis = new KeyvRedis(connection.client as unknown as ConstructorParameters<typeof KeyvRedis>[0], {
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
  let subscriber:
    | Promise<{
        subscribe(channel: string, listener: (message: string) => void): Promise<void>;
        unsubscribe(channel: string, listener: (message: string) => void): Promise<void>;
        close(): Promise<void>;
        destroy(): void;
      }>
    | undefined;
  /** Runs one round trip under the deadline, failures as StoreUnavailableError. */
  function guard<T>(what: string, run: () => Promise<T>, ms = CALL_TIMEOUT_MS): Promise<T> {
    if (closed) return Promise.reject(new StoreUnavailableError('the Redis store is closed'));
    return withDeadline(run(), what, where, ms).catch((error: unknown) => {
      connection.failed();
      throw asStoreError(`Redis at ${where} failed ${what}`, error);
    });
  }

  /**
   * Runs a script by its SHA-1 (EVALSHA: the body is not sent again on every call), loading it
   * with EVAL where the server answers NOSCRIPT (its first use there, or after a restart or
   * SCRIPT FLUSH; on a cluster, each master loads its own). Routed by the first key; every key of
   * one script must share its slot.
   */
  async function evalScript<T>(run: Script, keys: string[], args: string[]): Promise<T> {
    const [first = ''] = keys;
    const tail = [String(keys.length), ...keys, ...args];
    try {
      return await connection.send<T>(first, false, ['EVALSHA', run.sha, ...tail]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw error;
      return connection.send<T>(first, false, ['EVAL', run.source, ...tail]);
    }
  }

  return {
    kind: target.cluster ? 'redis-cluster' : 'redis',

    get<T>(key: string): Promise<T | undefined> {
      // keyv answers undefined for absent; a stored null comes back as null.
      return guard('GET', () => keyv.get<T>(key));
    },

    async set(key, value, ttlMs) {
      const ttl = setTtl(ttlMs);
      if (ttl === 'delete') {
        encodeValue(value);
        return guard('DEL', async () => {
          await keyv.delete(key);
        });
      }
      // keyv.set encodes (and refuses) the value through the serializer above.
      return guard('SET', async () => {
        await keyv.set(key, value, ttl);
      });
    },

    delete(key) {
      return guard('DEL', async () => {
        await keyv.delete(key);
      });
    },

    async getMany<T>(keys: readonly string[]): Promise<Array<T | undefined>> {
      if (keys.length === 0) return [];
      const full = keys.map((key) => prefix + key);
      // One MGET; on a cluster one per slot (a command's keys must share one), sent in parallel.
      const groups = new Map<number, number[]>();
      full.forEach((key, i) => {
        const slot = target.cluster ? keySlot(key) : 0;
        const group = groups.get(slot);
        if (group) group.push(i);
        else groups.set(slot, [i]);
      });
      const texts = new Array<string | null>(keys.length).fill(null);
      await guard('MGET', () =>
        Promise.all(
          [...groups.values()].map(async (indexes) => {
            const group = indexes.map((i) => full[i] as string);
            const replies = await connection.send<Array<string | null>>(group[0] as string, true, ['MGET', ...group]);
            indexes.forEach((i, j) => {
              texts[i] = replies[j] ?? null;
            });
          }),
        ),
      );
      return texts.map((text) => (text === null ? undefined : (JSON.parse(text) as T)));
    },

    async setIfAbsent(key, value, ttlMs) {
      const json = encodeValue(value);
      const ttl = positiveTtl(ttlMs, 'setIfAbsent');
      const args = ['SET', prefix + key, json, 'NX', ...(ttl === undefined ? [] : ['PX', String(ttl)])];
      const reply = await guard('SET NX', () => connection.send<string | null>(prefix + key, false, args));
      return reply === 'OK';
    },

    async setIfAbsentWithOwner(key, value, ownerKey, ttlMs) {
      const json = encodeValue(value);
      const ttl = positiveTtl(ttlMs, 'setIfAbsentWithOwner') as number;
      const [full, owner] = [prefix + key, prefix + ownerKey];
      if (!target.cluster || keySlot(full) === keySlot(owner)) {
        const won = await guard('SET NX beside its owner', () =>
          evalScript<number>(SCRIPTS.setIfAbsentWithOwner, [full, owner], [json, String(ttl)]),
        );
        return won === 1;
      }
      // Two slots, maybe two masters: the owner's expiry first, then the write (atomic on its own).
      const ownerTtl = await guard('PTTL', () => connection.send<number>(owner, true, ['PTTL', owner]));
      if (ownerTtl === -2 || ownerTtl === 0) return false;
      const px = ownerTtl === -1 ? ttl : ownerTtl;
      const reply = await guard('SET NX', () =>
        connection.send<string | null>(full, false, ['SET', full, json, 'NX', 'PX', String(px)]),
      );
      return reply === 'OK';
    },

    async deleteIfValue(key, expected) {
      const json = encodeValue(expected);
      const deleted = await guard('compare-and-delete', () =>
        evalScript<number>(SCRIPTS.deleteIfValue, [prefix + key], [json]),
      );
      return deleted === 1;
    },

    async addToSet(key, member, ttlMs) {
      const ttl = positiveTtl(ttlMs, 'addToSet') as number;
      await guard('SADD', () => evalScript(SCRIPTS.addToSet, [prefix + key], [member, String(ttl)]));
    },

    async increment(key, ttlMs) {
      const ttl = positiveTtl(ttlMs, 'increment') as number;
      return guard('INCR', () => evalScript<number>(SCRIPTS.increment, [prefix + key], [String(ttl)]));
    },

    async extendIfValue(key, expected, ttlMs) {
      const json = encodeValue(expected);
      const ttl = positiveTtl(ttlMs, 'extendIfValue') as number;
      const extended = await guard('compare-and-extend', () =>
        evalScript<number>(SCRIPTS.extendIfValue, [prefix + key], [json, String(ttl)]),
      );
      return extended === 1;
    },

    setMembers(key) {
      return guard('SMEMBERS', () => connection.send<string[]>(prefix + key, true, ['SMEMBERS', prefix + key]));
    },

    ping() {
      // Ready means every slot can be served: each master answers (a cluster missing one refuses
      // every command anyway once it notices, with CLUSTERDOWN).
      return guard(
        'PING',
        async () => {
          await connection.eachMaster((send) => send(['PING']));
        },
        PING_TIMEOUT_MS,
      );
    },

    // Each master's own settings (redis-persistence.ts); a cluster loses what its weakest loses.
    persistence() {
      return guard('CONFIG GET', async () => weakestPersistence(await connection.eachMaster(readRedisPersistence)));
    },

    async publish(channel, message) {
      const name = channelPrefix + channel;
      await guard('PUBLISH', () => connection.send(name, false, ['PUBLISH', name, message]));
    },

    // A subscribed connection can send nothing else, so subscribers get their own connection
    // (made on first use); node-redis re-subscribes by itself after a reconnect.
    async subscribe(channel, onMessage) {
      subscriber ??= (async () => {
        const duplicate = connection.client.duplicate() as unknown as {
          on(event: 'error', listener: () => void): void;
          connect(): Promise<unknown>;
          subscribe(channel: string, listener: (message: string) => void): Promise<void>;
          unsubscribe(channel: string, listener: (message: string) => void): Promise<void>;
          close(): Promise<void>;
          destroy(): void;
        };
        duplicate.on('error', () => {});
        await withDeadline(duplicate.connect(), 'SUBSCRIBE connection', where);
        // Its subscriptions move off a dead master once its replica has taken over.
        if (target.cluster) followClusterFailovers(duplicate as unknown as RedisClusterType);
        return duplicate;
      })();
      const client = await subscriber;
      await guard('SUBSCRIBE', () => client.subscribe(channelPrefix + channel, onMessage));
      return async () => {
        await guard('UNSUBSCRIBE', () => client.unsubscribe(channelPrefix + channel, onMessage));
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      if (subscriber) {
        const client = await subscriber.catch(() => undefined);
        await client?.close().catch(() => client.destroy());
      }
      try {
        await withDeadline(connection.close(), 'QUIT', where);
      } catch {
        // Down or stalled: drop the sockets rather than wait for them.
        connection.destroy();
      }
    },
  };
}
