/**
 * The one sign-out. Every way a session ends calls it, so none can end less than another:
 * forward-auth sign-out (`/oauth2/sign_out`), a refresh token reused after the grace (RFC 9700
 * §4.14.2), an operator's `npx gateway users sign-out`, and RP-initiated logout (`/session/end`,
 * where oidc-provider does part of it first and these same steps complete it: each is harmless to
 * take again). For one SSO session (oidc-provider's Session, by its `uid`) it ends:
 *
 * 1. its forward-auth cookies, on every domain and every instance: the session is refused in this
 *    instance's memory and on the store's channel (revoked-sessions.ts), since `/oauth2/auth`
 *    verifies cookies offline; then the forward-auth sessions themselves (forward-auth-sessions.ts;
 *    their refresh tokens end with forward auth's grant, below). First, so that nothing a browser
 *    holds works a moment longer.
 * 2. every grant the session holds, with every token and code of it (RFC 7009 §2.1 semantics: no
 *    app can refresh, and introspection answers `active: false` at once), `offline_access` grants
 *    included: a sign-out ends what the user signed in to, whichever path it took.
 * 3. the session itself, so the next app sends the browser to sign in again.
 * 4. a logout token to every app of the session that registered a `backchannel_logout_uri`
 *    (OpenID Connect Back-Channel Logout 1.0), once per app session (backchannel-delivery.ts).
 *    Last, so that an app told can no longer refresh.
 *
 * Access JWTs already issued still verify offline until they expire (keep them short-lived).
 */
import type Provider from 'oidc-provider';
import { endGrant } from '../../adapters/end-grant.ts';
import { createOidcAdapter, sessionsOfAccount } from '../../adapters/oidc-adapter.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { BackchannelDeliveryError } from './backchannel-delivery.ts';
import { removeForwardAuthSessionsOf } from './forward-auth-sessions.ts';

/** What a sign-out ended. */
export interface SignOutResult {
  /** OpenID Provider sessions destroyed. */
  sessions: number;
  /** Grants ended with their tokens. */
  grants: number;
  /** Forward-auth sessions removed (one per domain and browser). */
  forwardAuthSessions: number;
  /** Apps sent a logout token (queued on a gateway, delivered in the CLI). */
  backchannelLogouts: number;
}

/** An oidc-provider Session as stored (and as oidc-provider's own `Session` instance holds it). */
export interface SessionRecord {
  /** The record's id (the session cookie's value). */
  jti?: string | undefined;
  /** The SSO session's id: what forward-auth sessions and access tokens (`session_uid`) name. */
  uid?: string | undefined;
  accountId?: string | undefined;
  /** Per app: its session id (`sid`, in its ID tokens and logout tokens) and its grant. */
  authorizations?: Record<string, { sid?: string | undefined; grantId?: string | undefined }> | undefined;
}

/** What the sign-out works with: a gateway passes its own, the CLI builds them (cli/cli-sign-out.ts). */
export interface SignOutDeps {
  store: Store;
  sealing: Sealing;
  /**
   * The provider whose clients are sent logout tokens, with its back-channel delivery installed
   * (backchannel-delivery.ts). Asked at each sign-out: a gateway swaps its instance on a key change.
   */
  provider: () => Provider;
  /** Refuses the session's forward-auth cookies on every instance (revoked-sessions.ts). */
  revoke: (uid: string) => void | Promise<void>;
  log: { warn(obj: object, msg: string): void };
}

/** The one sign-out, by what names the session(s) to end. */
export interface SignOut {
  /** Ends one SSO session (by its uid), also when its record is gone already (its cookies are refused still). */
  endSession(uid: string): Promise<SignOutResult & { sub: string | undefined }>;
  /** Ends every SSO session of one account (by its `sub`). */
  signOutAccount(sub: string): Promise<SignOutResult>;
  /**
   * Completes a logout oidc-provider did itself (RP-initiated logout), from its Session as it
   * held it: every step is taken, and those oidc-provider took already find nothing left to do
   * (a grant ended stays ended, a logout token goes once per app session).
   */
  completeLogout(session: SessionRecord): Promise<SignOutResult>;
}

type BackchannelClient = { backchannelLogoutUri?: string; backchannelLogout(sub: string, sid: string): Promise<void> };

/** The one sign-out on the store `deps` name (see the top of this file). */
export function createSignOut(deps: SignOutDeps): SignOut {
  const { store } = deps;
  const adapterFor = createOidcAdapter(store, deps.sealing);
  const sessions = adapterFor('Session');

  /** Sends a logout token to every app of the session that asked for one; returns how many. */
  async function tellApps(sub: string, authorizations: [string, { sid?: string | undefined }][]): Promise<number> {
    const provider = deps.provider();
    const told = await Promise.all(
      authorizations.map(async ([clientId, { sid }]) => {
        if (!sid) return false;
        try {
          const client = (await provider.Client.find(clientId)) as BackchannelClient | undefined;
          if (!client?.backchannelLogoutUri) return false;
          await client.backchannelLogout(sub, sid);
          return true;
        } catch (error) {
          // The delivery logged its own failures; this is one before it (the client record, the
          // store). Either way the app misses one logout token: the sign-out stands.
          if (!(error instanceof BackchannelDeliveryError))
            deps.log.warn(
              { event: 'backchannel_logout_failed', client_id: clientId, reason: (error as Error).message },
              'back-channel logout not sent',
            );
          return false;
        }
      }),
    );
    return told.filter(Boolean).length;
  }

  /** The steps, in order (see the top of this file). */
  async function end(session: SessionRecord): Promise<SignOutResult> {
    const result: SignOutResult = { sessions: 0, grants: 0, forwardAuthSessions: 0, backchannelLogouts: 0 };
    if (session.uid) {
      await deps.revoke(session.uid);
      result.forwardAuthSessions = await removeForwardAuthSessionsOf(store, session.uid);
    }
    const authorizations = Object.entries(session.authorizations ?? {});
    for (const [, { grantId }] of authorizations) {
      if (!grantId) continue;
      await endGrant(adapterFor, grantId);
      result.grants += 1;
    }
    if (session.jti) {
      await sessions.destroy(session.jti);
      result.sessions = 1;
    }
    if (session.accountId) result.backchannelLogouts = await tellApps(session.accountId, authorizations);
    return result;
  }

  return {
    async endSession(uid) {
      const session = (await sessions.findByUid(uid)) as SessionRecord | undefined;
      const result = await end({ ...session, uid });
      return { ...result, sub: session?.accountId };
    },
    async signOutAccount(sub) {
      const total: SignOutResult = { sessions: 0, grants: 0, forwardAuthSessions: 0, backchannelLogouts: 0 };
      for (const found of await sessionsOfAccount(store, deps.sealing, sub)) {
        const session = found.payload as SessionRecord;
        if (session.accountId !== sub) continue;
        const result = await end(session);
        for (const name of Object.keys(total) as (keyof SignOutResult)[]) total[name] += result[name];
      }
      return total;
    },
    completeLogout: end,
  };
}
