/**
 * oidc-provider's storage Adapter, written once over the Store contract, so the provider's
 * codes, tokens, sessions and grants live in whichever backend the gateway runs on.
 *
 * Keys (under the store's own prefix):
 * - `oidc:<Model>:<id>`            the record: `{ payload, expiresAt }` (epoch ms or null)
 * - `oidc:consumed:<Model>:<id>`   the consumption marker (epoch seconds), written atomically
 * - `oidc:grant:<grantId>`         set of `<Model>:<id>` issued under one grant
 * - `oidc:sessionUid:<uid>`, `oidc:userCode:<code>`   secondary indexes → id
 *
 * Why these choices:
 * - oidc-provider gives `expiresIn` in SECONDS; the store takes milliseconds.
 * - `consume` must let exactly one of N parallel redemptions through (RFC 6749 §4.1.2: a code
 *   is used once; RFC 9700 §4.14.2 for rotated refresh tokens). A read-modify-write of the payload
 *   lets all of them win (measured: 5 parallel redemptions of one code all got tokens), so the
 *   winner is whoever creates the marker with `setIfAbsent`; the others get an error extending
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
 * Redis Cluster and hash slots: every store call above touches ONE key, so no call is CROSSSLOT
 * and no key carries a `{hash tag}`. What spans keys is ordered instead of made atomic: the grant
 * set is written before the record (so revocation can find every record it could see), the marker
 * is created atomically on its own key (so a consume needs nothing from the record's slot), and
 * `find` reads record and marker in parallel. Co-locating a grant's keys would not help anyway: a
 * token is found by its id alone, so its key cannot carry the grant id. Left open, as in
 * oidc-provider's own Redis adapter: a token written in the very instant its grant is revoked (its
 * set entry added after the revocation read the set) survives that revocation.
 *
 * Store failures (Redis down, stalled) arrive as StoreUnavailableError, already an oidc-provider
 * error (503 temporarily_unavailable), and pass through untouched: see store-errors.ts.
 */
import { errors, type Adapter, type AdapterPayload } from 'oidc-provider';
import type { Store } from './store.ts';
import { StoreUnavailableError } from './store-errors.ts';

/** What is stored per record: the payload and when it expires (for the consumption marker). */
interface StoredRecord {
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

const recordKey = (model: string, id: string) => `oidc:${model}:${id}`;
const consumedKey = (model: string, id: string) => `oidc:consumed:${model}:${id}`;
const grantKey = (grantId: string) => `oidc:grant:${grantId}`;
const sessionUidKey = (uid: string) => `oidc:sessionUid:${uid}`;
const userCodeKey = (userCode: string) => `oidc:userCode:${userCode}`;
const accountSessionsKey = (accountId: string) => `oidc:account-sessions:${accountId}`;

/** The ids of the oidc-provider sessions an account has signed in with (some may have ended). */
export function sessionIdsOfAccount(store: Store, accountId: string): Promise<string[]> {
  return store.setMembers(accountSessionsKey(accountId));
}

async function findRecord(store: Store, model: string, id: string): Promise<AdapterPayload | undefined> {
  const [record, consumed] = await Promise.all([
    store.get<StoredRecord>(recordKey(model, id)),
    store.get<number>(consumedKey(model, id)),
  ]);
  if (!record) return undefined;
  return consumed === undefined ? record.payload : { ...record.payload, consumed };
}

/** Deletes a record, its marker and the indexes still pointing at it. */
async function destroyRecord(store: Store, model: string, id: string): Promise<void> {
  const record = await store.get<StoredRecord>(recordKey(model, id));
  const { uid, userCode } = record?.payload ?? {};
  await Promise.all([
    store.delete(recordKey(model, id)),
    store.delete(consumedKey(model, id)),
    uid ? store.deleteIfValue(sessionUidKey(uid), id) : undefined,
    userCode ? store.deleteIfValue(userCodeKey(userCode), id) : undefined,
  ]);
}

/**
 * Destroys every record listed under the grant, then the grant's set. A call for the same grant
 * made before the set was read joins this pass (the read will see what it would have seen); one
 * made after starts a pass of its own, since the set may have grown since.
 */
function revokeGrant(store: Store, grantId: string, revoking: Map<string, Promise<void>>): Promise<void> {
  const joined = revoking.get(grantId);
  if (joined) return joined;
  const reading = store.setMembers(grantKey(grantId));
  const revocation = (async () => {
    let members: string[];
    try {
      members = await reading;
    } finally {
      revoking.delete(grantId);
    }
    await Promise.all(members.map((member) => {
      const colon = member.indexOf(':');
      return destroyRecord(store, member.slice(0, colon), member.slice(colon + 1));
    }));
    await store.delete(grantKey(grantId));
  })();
  revoking.set(grantId, revocation);
  return revocation;
}

function adapterFor(store: Store, model: string, revoking: Map<string, Promise<void>>): Adapter {
  return {
    async upsert(id, payload, expiresIn) {
      const ttlMs = typeof expiresIn === 'number' ? expiresIn * 1000 : undefined;
      if (ttlMs !== undefined && ttlMs <= 0) {
        // Born expired: nothing to keep (and sets refuse a TTL <= 0).
        await destroyRecord(store, model, id);
        return;
      }
      const expiresAt = ttlMs === undefined ? null : Date.now() + ttlMs;
      // Indexes first, record last: whoever sees the record can also find it through its grant.
      const writes: Promise<void>[] = [];
      if (GRANT_BOUND.has(model) && payload.grantId) {
        writes.push(store.addToSet(grantKey(payload.grantId), `${model}:${id}`, ttlMs ?? UNBOUNDED_TTL_MS));
      }
      if (model === 'Session' && payload.uid) writes.push(store.set(sessionUidKey(payload.uid), id, ttlMs));
      // So an operator can sign one user out everywhere (`npx gateway users sign-out`).
      if (model === 'Session' && typeof payload.accountId === 'string') {
        writes.push(store.addToSet(accountSessionsKey(payload.accountId), id, ttlMs ?? UNBOUNDED_TTL_MS));
      }
      if (payload.userCode) writes.push(store.set(userCodeKey(payload.userCode), id, ttlMs));
      await Promise.all(writes);
      const record: StoredRecord = { payload, expiresAt };
      await store.set(recordKey(model, id), record, ttlMs);
    },

    async find(id) {
      return findRecord(store, model, id);
    },

    async findByUid(uid) {
      const id = await store.get<string>(sessionUidKey(uid));
      return id === undefined ? undefined : findRecord(store, model, id);
    },

    async findByUserCode(userCode) {
      const id = await store.get<string>(userCodeKey(userCode));
      return id === undefined ? undefined : findRecord(store, model, id);
    },

    async consume(id) {
      const record = await store.get<StoredRecord>(recordKey(model, id));
      const ttlMs = record?.expiresAt == null ? UNBOUNDED_TTL_MS : record.expiresAt - Date.now();
      if (!record || ttlMs <= 0) throw new AlreadyConsumedError(model);
      // The marker lives as long as the record, so it can never expire first and let a replay in.
      const won = await store.setIfAbsent(consumedKey(model, id), Math.floor(Date.now() / 1000), ttlMs);
      if (!won) throw new AlreadyConsumedError(model);
    },

    async destroy(id) {
      await destroyRecord(store, model, id);
    },

    revokeByGrantId(grantId) {
      return revokeGrant(store, grantId, revoking);
    },
  };
}

/**
 * The value for oidc-provider's `adapter` option: a factory (not async, as oidc-provider
 * requires) called once per model name (`AccessToken`, `Session`, ...).
 */
export function createOidcAdapter(store: Store): (name: string) => Adapter {
  // Revocations in flight, by grant id: shared by every model of this provider (see the header).
  const revoking = new Map<string, Promise<void>>();
  return (name) => adapterFor(store, name, revoking);
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
