/**
 * The server-side half of a forward-auth cookie: the refresh token that keeps the short-lived
 * cookie JWT fresh, and an index by SSO session (`sid`) so that signing out ends every domain's
 * cookie at once.
 *
 * The session id is the cookie's credential and the record holds a refresh token and the cookie
 * JWT, so a dump of the store must show neither: the record lives at `fa-session:<H(id)>` (`H` the
 * keyed hash of the store's sealing) and is sealed whole; `fa-by-sid:<sid>` lists those `H(id)`,
 * which is all a sign-out needs to delete them (a session uid is no credential).
 *
 * One SSO session keeps at most {@link MAX_PER_SSO_SESSION} forward-auth sessions: a browser that
 * signs in to forward auth again and again (cookies dropped, a script) would otherwise add a
 * session and a refresh token to the store each time, kept for two weeks. Past the cap, the
 * oldest go, with their refresh tokens.
 */
import { randomBytes } from 'node:crypto';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';

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

export interface ForwardAuthSessions {
  create(session: Omit<ForwardAuthSession, 'createdAt'>): Promise<string>;
  load(id: string): Promise<ForwardAuthSession | undefined>;
  update(id: string, session: ForwardAuthSession): Promise<void>;
  remove(id: string): Promise<void>;
}

/** Forward-auth sessions one SSO session may hold: one per domain and browser, with room to spare. */
export const MAX_PER_SSO_SESSION = 50;

/** Session ids are 256-bit random values: knowing one is owning the session. */
const ID_PATTERN = /^[A-Za-z0-9_-]{43}$/;

/** The record of the session whose id hashes to `idHash`. */
const key = (idHash: string) => `fa-session:${idHash}`;
const sidKey = (sid: string) => `fa-by-sid:${sid}`;

/** Ends every forward-auth session of an SSO session (by its uid); returns how many (sign-out.ts). */
export async function removeForwardAuthSessionsOf(store: Store, sid: string): Promise<number> {
  const idHashes = await store.setMembers(sidKey(sid));
  await Promise.all(idHashes.map((idHash) => store.delete(key(idHash))));
  await store.delete(sidKey(sid));
  return idHashes.length;
}

/**
 * `discardRefreshToken` ends the refresh token of a session evicted past the cap (only that
 * token: its grant serves the user's other sessions).
 */
export function createForwardAuthSessions(
  store: Store,
  sealing: Sealing,
  ttlMs: number,
  discardRefreshToken: (refreshToken: string) => Promise<void> = async () => {},
): ForwardAuthSessions {
  const save = (id: string, session: ForwardAuthSession) =>
    store.set(key(sealing.hashId(id)), sealing.seal(session), ttlMs);

  /** Past the cap: the oldest sessions of `sid` go, with their refresh tokens. */
  async function evictPastCap(sid: string): Promise<void> {
    const idHashes = await store.setMembers(sidKey(sid));
    if (idHashes.length <= MAX_PER_SSO_SESSION) return;
    const live = (
      await Promise.all(
        idHashes.map(async (idHash) => {
          const sealed = await store.get<string>(key(idHash));
          const session = sealed === undefined ? undefined : sealing.open<ForwardAuthSession>(sealed);
          return session ? { idHash, session } : undefined;
        }),
      )
    ).filter((entry) => entry !== undefined);
    live.sort((a, b) => a.session.createdAt - b.session.createdAt);
    for (const { idHash, session } of live.slice(0, Math.max(0, live.length - MAX_PER_SSO_SESSION))) {
      await store.delete(key(idHash));
      await discardRefreshToken(session.refreshToken).catch(() => undefined);
    }
  }

  const sessions: ForwardAuthSessions = {
    async create(session) {
      const id = randomBytes(32).toString('base64url');
      await save(id, { ...session, createdAt: Date.now() });
      if (session.sid) {
        await store.addToSet(sidKey(session.sid), sealing.hashId(id), ttlMs);
        await evictPastCap(session.sid);
      }
      return id;
    },
    async load(id) {
      if (!ID_PATTERN.test(id)) return undefined;
      const sealed = await store.get<string>(key(sealing.hashId(id)));
      return sealed === undefined ? undefined : sealing.open<ForwardAuthSession>(sealed);
    },
    update: save,
    async remove(id) {
      await store.delete(key(sealing.hashId(id)));
    },
  };
  return sessions;
}
