/**
 * In-memory storage for the development IdP's oidc-provider.
 *
 * oidc-provider ships an in-memory adapter too, but it prints a "you MUST change it" warning on
 * every start, which is noise for a dev IdP that is in memory on purpose (a restart signs everyone
 * out, as intended). This one also lets {@link MemoryAdapterStore.revokeAccount} find grants by
 * account, which the bundled one cannot.
 *
 * @module
 */
import type { Adapter, AdapterFactory, AdapterPayload } from 'oidc-provider';

/** Models whose payload carries a `grantId` and must go when the grant is revoked. */
const GRANTABLE = new Set([
  'AccessToken',
  'AuthorizationCode',
  'RefreshToken',
  'DeviceCode',
  'BackchannelAuthenticationRequest',
  'PreAuthorizedCode',
]);

/** Sweep expired entries after this many writes, so a long-running dev server does not grow. */
const SWEEP_EVERY = 500;

interface Entry {
  payload: AdapterPayload;
  /** Epoch milliseconds; `Infinity` when oidc-provider gave no TTL. */
  expiresAt: number;
}

/** The storage behind every model of one provider. */
export interface MemoryAdapterStore {
  /** Pass as oidc-provider's `adapter` configuration. */
  adapter: AdapterFactory;
  /** Removes every grant of `accountId` and every token issued under those grants. */
  revokeAccount(accountId: string): void;
}

/**
 * Creates an empty store. Entries are kept `clockTolerance` seconds past their expiry, like
 * oidc-provider's own memory adapter, so that a lookup with `ignoreExpiration` (refresh tokens)
 * still finds the record and reports "expired" rather than "not found".
 */
export function createMemoryAdapter(clockTolerance = 0): MemoryAdapterStore {
  const entries = new Map<string, Entry>();
  const grantMembers = new Map<string, Set<string>>();
  const sessionUids = new Map<string, string>();
  const userCodes = new Map<string, string>();
  let writes = 0;

  const read = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  };

  const sweep = (): void => {
    const now = Date.now();
    for (const [key, entry] of entries) {
      if (entry.expiresAt <= now) entries.delete(key);
    }
    for (const [grantId, members] of grantMembers) {
      for (const key of members) if (!entries.has(key)) members.delete(key);
      if (members.size === 0) grantMembers.delete(grantId);
    }
    for (const [uid, id] of sessionUids) if (!entries.has(`Session:${id}`)) sessionUids.delete(uid);
    for (const [code, key] of userCodes) if (!entries.has(key)) userCodes.delete(code);
  };

  const revokeByGrantId = (grantId: string): void => {
    for (const key of grantMembers.get(grantId) ?? []) entries.delete(key);
    grantMembers.delete(grantId);
  };

  const adapter: AdapterFactory = (model: string): Adapter => {
    const keyFor = (id: string): string => `${model}:${id}`;
    return {
      async upsert(id, payload, expiresIn) {
        const key = keyFor(id);
        const expiresAt = typeof expiresIn === 'number' ? Date.now() + (expiresIn + clockTolerance) * 1000 : Infinity;
        entries.set(key, { payload, expiresAt });
        if (model === 'Session' && payload.uid !== undefined) sessionUids.set(payload.uid, id);
        if (payload.userCode !== undefined) userCodes.set(payload.userCode, key);
        if (GRANTABLE.has(model) && payload.grantId !== undefined) {
          let members = grantMembers.get(payload.grantId);
          if (members === undefined) {
            members = new Set();
            grantMembers.set(payload.grantId, members);
          }
          members.add(key);
        }
        if (++writes % SWEEP_EVERY === 0) sweep();
      },
      async find(id) {
        return read(keyFor(id));
      },
      async findByUid(uid) {
        const id = sessionUids.get(uid);
        return id === undefined ? undefined : read(keyFor(id));
      },
      async findByUserCode(userCode) {
        const key = userCodes.get(userCode);
        return key === undefined ? undefined : read(key);
      },
      async consume(id) {
        const payload = read(keyFor(id));
        if (payload !== undefined) payload.consumed = Math.floor(Date.now() / 1000);
      },
      async destroy(id) {
        entries.delete(keyFor(id));
      },
      async revokeByGrantId(grantId) {
        revokeByGrantId(grantId);
      },
    };
  };

  return {
    adapter,
    revokeAccount(accountId) {
      for (const [key, entry] of entries) {
        if (key.startsWith('Grant:') && entry.payload.accountId === accountId) {
          revokeByGrantId(key.slice('Grant:'.length));
          entries.delete(key);
        }
      }
    },
  };
}
