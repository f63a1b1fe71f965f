/**
 * The server-side half of a forward-auth cookie: the refresh token (encrypted at rest) that keeps
 * the short-lived cookie JWT fresh, and an index by SSO session (`sid`) so that signing out ends
 * every domain's cookie at once.
 */
import { randomBytes } from 'node:crypto';
import type { Store } from '../../adapters/store.ts';
import type { SecretBox } from '../keys/secret-box.ts';

export interface ForwardAuthSession {
  sub: string;
  /** The OpenID Provider's session uid (`session_uid` claim): one per sign-in, shared by all apps. */
  sid: string | undefined;
  refreshToken: string;
  /**
   * The current cookie JWT: only this session's own cookie may refresh or sign it out, and
   * parallel refreshes can tell that someone already refreshed.
   */
  accessToken: string;
  /** The cookie JWT the last refresh replaced: a request still in flight with it is this session's too. */
  previousAccessToken?: string | undefined;
  createdAt: number;
}

interface StoredSession extends Omit<ForwardAuthSession, 'refreshToken'> {
  sealedRefreshToken: string;
}

export interface ForwardAuthSessions {
  create(session: Omit<ForwardAuthSession, 'createdAt'>): Promise<string>;
  load(id: string): Promise<ForwardAuthSession | undefined>;
  update(id: string, session: ForwardAuthSession): Promise<void>;
  remove(id: string): Promise<void>;
  /** Ends every forward-auth session of an SSO session; returns how many. */
  removeAllForSid(sid: string): Promise<number>;
}

/** Session ids are 256-bit random values: knowing one is owning the session. */
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

const key = (id: string) => `fa-session:${id}`;
const sidKey = (sid: string) => `fa-by-sid:${sid}`;

/** Ends every forward-auth session of an SSO session (by its uid); returns how many. */
export async function removeForwardAuthSessionsOf(store: Store, sid: string): Promise<number> {
  const ids = await store.setMembers(sidKey(sid));
  await Promise.all(ids.map((id) => store.delete(key(id))));
  await store.delete(sidKey(sid));
  return ids.length;
}

export function createForwardAuthSessions(store: Store, box: SecretBox, ttlMs: number): ForwardAuthSessions {
  const save = (id: string, session: ForwardAuthSession) => {
    const { refreshToken, ...rest } = session;
    return store.set(key(id), { ...rest, sealedRefreshToken: box.seal(refreshToken) } satisfies StoredSession, ttlMs);
  };

  const sessions: ForwardAuthSessions = {
    async create(session) {
      const id = randomBytes(32).toString('base64url');
      await save(id, { ...session, createdAt: Date.now() });
      if (session.sid) await store.addToSet(sidKey(session.sid), id, ttlMs);
      return id;
    },
    async load(id) {
      if (!ID_PATTERN.test(id)) return undefined;
      const stored = await store.get<StoredSession>(key(id));
      if (!stored) return undefined;
      const refreshToken = box.open<string>(stored.sealedRefreshToken);
      if (refreshToken === undefined) return undefined;
      const { sealedRefreshToken: _sealed, ...rest } = stored;
      return { ...rest, refreshToken };
    },
    update: save,
    async remove(id) {
      await store.delete(key(id));
    },
    removeAllForSid: (sid) => removeForwardAuthSessionsOf(store, sid),
  };
  return sessions;
}
