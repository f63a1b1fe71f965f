/**
 * oidc-provider's storage Adapter, written once over the Store contract, so the provider's
 * codes, tokens, sessions and grants live in whichever backend the gateway runs on.
 *
 * Keys (under the store's own prefix); `H(x)` is the keyed hash `sealing.hashId(x)`:
 * - `oidc:<Model>:<H(id)>`          the record: `{ sealed, expiresAt }` (epoch ms or null)
 * - `oidc:Client:<client_id>`       a client's record, the same way
 * - `oidc:consumed:<Model>:<H(id)>` the consumption marker (epoch seconds), written atomically
 * - `oidc:grant:<H(grantId)>`       set of `<Model>:<H(id)>` issued under one grant
 * - `oidc:sessionUid:<H(uid)>`, `oidc:userCode:<H(code)>`   secondary indexes → `H(id)`
 * - `oidc:account-sessions:<accountId>`   set of the account's sessions' `H(id)` (users sign-out)
 *
 * Why these choices:
 * - A dump of the store must give away no credential. The id of every model but Client is one
 *   (a token, a code, a session or interaction cookie) or leads to one, so no key or set member
 *   holds an id, only its keyed hash; the hash is all the adapter needs, since a record is only
 *   ever found from an id the caller already has. Payloads hold credentials too (every token's
 *   own id as `jti`, an interaction's session cookie as `session.cookie`, a client's
 *   `client_secret`), so every payload is sealed whole. A client keeps its id in its key:
 *   client_ids are public, and `npx gateway clients list` names them.
 * - oidc-provider gives `expiresIn` in SECONDS; the store takes milliseconds.
 * - `consume` must let exactly one of N parallel redemptions through (RFC 6749 §4.1.2: a code
 *   is used once; RFC 9700 §4.14.2 for rotated refresh tokens). A read-modify-write of the payload
 *   lets all of them win (measured: 5 parallel redemptions of one code all got tokens), so the
 *   winner is whoever creates the marker, beside a live record and expiring with it
 *   (`setIfAbsentWithOwner`: one round trip); the others get an error extending
 *   `errors.InvalidGrant`, which the token endpoint answers with 400 invalid_grant instead of 500.
 *   The payload itself is not rewritten: `find` merges the marker in as `consumed`, exactly what
 *   oidc-provider checks, so a consume racing a destroy can never bring the record back.
 * - Grant membership is a store set (atomic add), not a list in a value: 50 parallel token
 *   writes for one grant all land, so `revokeByGrantId` (token revocation, code replay) finds
 *   every one of them. As in oidc-provider's own memory adapter, only grant-bound models join.
 * - Secondary indexes are removed with compare-and-delete, so destroying an old record never
 *   removes an index that already points to a newer one.
 * - oidc-provider revokes a grant by calling `revokeByGrantId` on up to six models at once, all
 *   for the same grant; here one set holds the grant's tokens of every model, so the calls for one
 *   grant made before the set was read share one pass over it instead of repeating it six times.
 *
 * Redis Cluster and hash slots: no key carries a `{hash tag}`, and the store makes no call
 * CROSSSLOT (redis-store.ts). What spans keys is ordered instead of made atomic: the grant set is
 * written before the record (so revocation can find every record it could see), the marker is
 * created atomically on its own key (checking its record first: in the same script on one server,
 * a step before on a cluster where they hash apart), and `find` reads record and marker in one
 * `getMany` (one MGET; on a cluster, one per slot in parallel). Co-locating a grant's keys would not help anyway: a
 * token is found by its id alone, so its key cannot carry the grant id. Left open, as in
 * oidc-provider's own Redis adapter: a token written in the very instant its grant is revoked (its
 * set entry added after the revocation read the set) survives that revocation.
 *
 * Store failures (Redis down, stalled) arrive as StoreUnavailableError, already an oidc-provider
 * error (503 temporarily_unavailable), and pass through untouched: see store-errors.ts.
 */
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Sealing } from './sealing.ts';
import type { Store } from './store.ts';
import { StoreUnavailableError } from './store-errors.ts';

/** What is stored per record: the sealed payload and when it expires (for the consumption marker). */
interface StoredRecord {
  sealed: string;
  expiresAt: number | null;
}

/**
 * A record written before payloads were sealed. Only clients are still found that way (every
 * other model's key is a hash now, so its old records are never read again and expire); see
 * {@link sealLegacyRecord}.
 */
interface LegacyRecord {
  payload: AdapterPayload;
  expiresAt: number | null;
}

/** Models whose records are listed under their grant (as in oidc-provider's memory adapter). */
const GRANT_BOUND = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/**
 * Lifetime of a grant-set entry or consumption marker whose record never expires. The Store's
 * sets always expire; a year outlives any token oidc-provider issues by default (14 days).
 */
const UNBOUNDED_TTL_MS = 365 * 24 * 60 * 60 * 1000;

/** A code or token that another request has already redeemed (or that is gone). */
export class AlreadyConsumedError extends errors.InvalidGrant {
  constructor(model: string) {
    // `detail` goes to oidc-provider's logs/events, not to the client; no id in it.
    super({ detail: `${model} was already consumed or no longer exists` });
    this.name = 'AlreadyConsumedError';
  }
}

// `key` below is a record's name in the store: the keyed hash of its id (a client's own id).
const recordKey = (model: string, key: string) => `oidc:${model}:${key}`;
const consumedKey = (model: string, key: string) => `oidc:consumed:${model}:${key}`;
const grantKey = (grantHash: string) => `oidc:grant:${grantHash}`;
const sessionUidKey = (uidHash: string) => `oidc:sessionUid:${uidHash}`;
const userCodeKey = (userCodeHash: string) => `oidc:userCode:${userCodeHash}`;
const accountSessionsKey = (accountId: string) => `oidc:account-sessions:${accountId}`;

/** What every function here works with: the store, its sealing, and the revocations in flight. */
interface Records {
  store: Store;
  sealing: Sealing;
  /** Revocations in flight, by grant id: shared by every model of one adapter factory. */
  revoking: Map<string, Promise<void>>;
}

/** The name of `id`'s record: client_ids are public, every other id is hashed. */
function keyOf(sealing: Sealing, model: string, id: string): string {
  return model === 'Client' ? id : sealing.hashId(id);
}

function openRecord(records: Records, record: StoredRecord | LegacyRecord): AdapterPayload | undefined {
  // A record that does not open (tampered, or sealed under another data key) is as good as absent.
  return 'sealed' in record ? records.sealing.open<AdapterPayload>(record.sealed) : record.payload;
}

async function findRecord(records: Records, model: string, key: string): Promise<AdapterPayload | undefined> {
  // One round trip (on a cluster, one per slot of the two, in parallel).
  const [record, consumed] = (await records.store.getMany([recordKey(model, key), consumedKey(model, key)])) as [
    StoredRecord | LegacyRecord | undefined,
    number | undefined,
  ];
  const payload = record ? openRecord(records, record) : undefined;
  if (!payload) return undefined;
  return consumed === undefined ? payload : { ...payload, consumed };
}

/** Deletes a record, its marker and the indexes still pointing at it. */
async function destroyRecord(records: Records, model: string, key: string): Promise<void> {
  const { store, sealing } = records;
  const record = await store.get<StoredRecord | LegacyRecord>(recordKey(model, key));
  const { uid, userCode } = (record ? openRecord(records, record) : undefined) ?? {};
  await Promise.all([
    store.delete(recordKey(model, key)),
    store.delete(consumedKey(model, key)),
    uid ? store.deleteIfValue(sessionUidKey(sealing.hashId(uid)), key) : undefined,
    userCode ? store.deleteIfValue(userCodeKey(sealing.hashId(userCode)), key) : undefined,
  ]);
}

/**
 * Destroys every record listed under the grant, then the grant's set. A call for the same grant
 * made before the set was read joins this pass (the read will see what it would have seen); one
 * made after starts a pass of its own, since the set may have grown since.
 */
function revokeGrant(records: Records, grantId: string): Promise<void> {
  const { store, revoking } = records;
  const joined = revoking.get(grantId);
  if (joined) return joined;
  const setKey = grantKey(records.sealing.hashId(grantId));
  const reading = store.setMembers(setKey);
  const revocation = (async () => {
    let members: string[];
    try {
      members = await reading;
    } finally {
      revoking.delete(grantId);
    }
    await Promise.all(
      members.map((member) => {
        const colon = member.indexOf(':');
        return destroyRecord(records, member.slice(0, colon), member.slice(colon + 1));
      }),
    );
    await store.delete(setKey);
  })();
  revoking.set(grantId, revocation);
  return revocation;
}

function adapterFor(records: Records, model: string): Adapter {
  const { store, sealing } = records;
  return {
    async upsert(id, payload, expiresIn) {
      const key = keyOf(sealing, model, id);
      const ttlMs = typeof expiresIn === 'number' ? expiresIn * 1000 : undefined;
      if (ttlMs !== undefined && ttlMs <= 0) {
        // Born expired: nothing to keep (and sets refuse a TTL <= 0).
        await destroyRecord(records, model, key);
        return;
      }
      const expiresAt = ttlMs === undefined ? null : Date.now() + ttlMs;
      // Indexes first, record last: whoever sees the record can also find it through its grant.
      const writes: Promise<void>[] = [];
      if (GRANT_BOUND.has(model) && payload.grantId) {
        writes.push(
          store.addToSet(grantKey(sealing.hashId(payload.grantId)), `${model}:${key}`, ttlMs ?? UNBOUNDED_TTL_MS),
        );
      }
      if (model === 'Session' && payload.uid)
        writes.push(store.set(sessionUidKey(sealing.hashId(payload.uid)), key, ttlMs));
      // So an operator can sign one user out everywhere (`npx gateway users sign-out`).
      if (model === 'Session' && typeof payload.accountId === 'string') {
        writes.push(store.addToSet(accountSessionsKey(payload.accountId), key, ttlMs ?? UNBOUNDED_TTL_MS));
      }
      if (payload.userCode) writes.push(store.set(userCodeKey(sealing.hashId(payload.userCode)), key, ttlMs));
      await Promise.all(writes);
      const record: StoredRecord = { sealed: sealing.seal(payload), expiresAt };
      await store.set(recordKey(model, key), record, ttlMs);
    },

    async find(id) {
      return findRecord(records, model, keyOf(sealing, model, id));
    },

    async findByUid(uid) {
      const key = await store.get<string>(sessionUidKey(sealing.hashId(uid)));
      return key === undefined ? undefined : findRecord(records, model, key);
    },

    async findByUserCode(userCode) {
      const key = await store.get<string>(userCodeKey(sealing.hashId(userCode)));
      return key === undefined ? undefined : findRecord(records, model, key);
    },

    async consume(id) {
      const key = keyOf(sealing, model, id);
      // Only beside a live record, and expiring with it: the marker can never expire first and let
      // a replay in, and a consume after a destroy writes nothing. One round trip.
      const won = await store.setIfAbsentWithOwner(
        consumedKey(model, key),
        Math.floor(Date.now() / 1000),
        recordKey(model, key),
        UNBOUNDED_TTL_MS,
      );
      if (!won) throw new AlreadyConsumedError(model);
    },

    async destroy(id) {
      await destroyRecord(records, model, keyOf(sealing, model, id));
    },

    revokeByGrantId(grantId) {
      return revokeGrant(records, grantId);
    },
  };
}

/**
 * The value for oidc-provider's `adapter` option: a factory (not async, as oidc-provider
 * requires) called once per model name (`AccessToken`, `Session`, ...).
 */
export function createOidcAdapter(store: Store, sealing: Sealing): (name: string) => Adapter {
  const records: Records = { store, sealing, revoking: new Map() };
  return (name) => adapterFor(records, name);
}

/**
 * Takes back the consumption of a code or token, so oidc-provider redeems it once more instead of
 * taking it for a replay. Only for a redemption known to have died with its instance before its
 * answer left it (the refresh grace's in-flight marker, gateway/provider/refresh-grace.ts): what it
 * wrote was never delivered. Run it under the lock the redemptions of that id take; true when a
 * consumption was taken back.
 */
export async function undoConsumption(store: Store, sealing: Sealing, model: string, id: string): Promise<boolean> {
  const key = consumedKey(model, keyOf(sealing, model, id));
  const consumed = await store.get<number>(key);
  return consumed !== undefined && store.deleteIfValue(key, consumed);
}

/**
 * The store key of the consumption marker of a code or token (absent while it is unconsumed), for
 * a caller that reads it with other keys in one round trip (gateway/provider/refresh-grace.ts).
 */
export function consumptionKey(sealing: Sealing, model: string, id: string): string {
  return consumedKey(model, keyOf(sealing, model, id));
}

/** One oidc-provider session of an account, as {@link sessionsOfAccount} finds it. */
export interface AccountSession {
  payload: AdapterPayload;
  /** Destroys the session's record (as oidc-provider's `session.destroy()` would). */
  destroy(): Promise<void>;
}

/**
 * The live oidc-provider sessions an account has signed in with, for `npx gateway users sign-out`.
 * The index keeps only hashed session ids, so each comes with its own `destroy`.
 */
export async function sessionsOfAccount(store: Store, sealing: Sealing, accountId: string): Promise<AccountSession[]> {
  const records: Records = { store, sealing, revoking: new Map() };
  const found = await Promise.all(
    (await store.setMembers(accountSessionsKey(accountId))).map(async (key) => {
      const payload = await findRecord(records, 'Session', key);
      return payload ? { payload, destroy: () => destroyRecord(records, 'Session', key) } : undefined;
    }),
  );
  return found.filter((session) => session !== undefined);
}

/**
 * Seals a record written before payloads were sealed (a client: see {@link LegacyRecord}), keeping
 * its expiry; false when there was nothing to do. Run it under the lock its writers take.
 */
export async function sealLegacyRecord(store: Store, sealing: Sealing, model: string, id: string): Promise<boolean> {
  const key = recordKey(model, keyOf(sealing, model, id));
  const record = await store.get<StoredRecord | LegacyRecord>(key);
  if (!record || !('payload' in record)) return false;
  const ttlMs = record.expiresAt === null ? undefined : record.expiresAt - Date.now();
  if (ttlMs !== undefined && ttlMs <= 0) return false;
  await store.set(
    key,
    { sealed: sealing.seal(record.payload), expiresAt: record.expiresAt } satisfies StoredRecord,
    ttlMs,
  );
  return true;
}

/** The part of Koa's context {@link storeOutageMiddleware} writes. */
interface OutageContext {
  status: number;
  body: unknown;
  set(name: string, value: string): void;
}

/**
 * For `provider.use()`, registered before any other middleware (so it is the outermost): a
 * StoreUnavailableError thrown by a gateway middleware in front of oidc-provider's routes (a lock
 * or a cache read before `/token`) gets the answer the route itself would have given, 503
 * `{"error":"temporarily_unavailable"}` with Retry-After (RFC 9110 §10.2.3). oidc-provider's error
 * handler only wraps its routes; without this, Koa's default handler would send the bare
 * message as text/plain.
 */
export function storeOutageMiddleware() {
  return async function storeOutage(ctx: OutageContext, next: () => Promise<void>): Promise<void> {
    try {
      await next();
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      ctx.status = 503;
      ctx.set('cache-control', 'no-store');
      ctx.set('retry-after', '5');
      ctx.body = { error: error.error, error_description: error.error_description };
    }
  };
}
