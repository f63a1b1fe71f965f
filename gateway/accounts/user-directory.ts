/**
 * Users as an operator looks them up (the CLI's `users` and `sessions` commands, the admin API):
 * accounts found by an index (never a scan of the store), each shown with its upstream, groups,
 * last sign-in and sessions.
 */
import { sessionsOfAccount } from '../../adapters/oidc-adapter.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import type { Account } from './account.ts';
import { releasedGroups } from './account-groups.ts';
import {
  findAccountByIdentity,
  findAccountBySub,
  findAccountByUsername,
  findAccountsByEmail,
  sessionEndedByDisable,
} from './account-store.ts';

/** The accounts `query` names: an e-mail address, a sub, a user name, or `<upstream id>:<its sub>`. */
export async function findUsers(
  store: Store,
  query: string,
  upstreams: readonly { id: string; issuer: string }[],
): Promise<Account[]> {
  if (query.includes('@')) return findAccountsByEmail(store, query);
  const colon = query.indexOf(':');
  const upstream = colon > 0 ? upstreams.find((u) => u.id === query.slice(0, colon)) : undefined;
  const found = await Promise.all([
    findAccountBySub(store, query),
    findAccountByUsername(store, query),
    upstream ? findAccountByIdentity(store, upstream.issuer, query.slice(colon + 1)) : undefined,
  ]);
  const unique = new Map<string, Account>();
  for (const account of found) if (account) unique.set(account.sub, account);
  return [...unique.values()];
}

const when = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

/** An account as an operator sees it (no tokens; its groups as apps get them). */
export interface AccountView {
  sub: string;
  preferred_username: string;
  email?: string | undefined;
  /** Whether the upstream vouched for the address: an unverified one names nobody for sure. */
  email_verified?: boolean | undefined;
  name?: string | undefined;
  upstream: string;
  upstream_sub: string;
  groups: string[];
  created_at?: string | undefined;
  last_sign_in_or_check?: string | undefined;
  disabled_at?: string | undefined;
}

export function accountView(account: Account, staticGroups: Readonly<Record<string, readonly string[]>>): AccountView {
  return {
    sub: account.sub,
    preferred_username: account.preferred_username,
    email: account.email,
    email_verified: account.email === undefined ? undefined : account.email_verified === true,
    name: account.name,
    upstream: account.upstream.id ?? account.upstream.iss,
    upstream_sub: account.upstream.sub,
    groups: releasedGroups(account, staticGroups, account.upstream.id),
    created_at: when(account.createdAt),
    last_sign_in_or_check: when(account.upstreamCheckedAt),
    disabled_at: when(account.disabledAt),
  };
}

/** One SSO session of an account: its id (the `session_uid` of its tokens), when, which apps. */
export interface SessionView {
  uid: string;
  signed_in_at?: string | undefined;
  apps: string[];
}

export async function sessionsOf(store: Store, sealing: Sealing, sub: string): Promise<SessionView[]> {
  const [found, account] = await Promise.all([sessionsOfAccount(store, sealing, sub), findAccountBySub(store, sub)]);
  return (
    found
      .map(
        (session) =>
          session.payload as { uid?: unknown; accountId?: unknown; loginTs?: unknown; authorizations?: object },
      )
      .filter((session) => session.accountId === sub && typeof session.uid === 'string')
      // A session a disable ended (one that raced it) serves nothing: not listed as live.
      .filter((session) => !sessionEndedByDisable(account, typeof session.loginTs === 'number' ? session.loginTs : 0))
      .map((session) => ({
        uid: String(session.uid),
        signed_in_at: typeof session.loginTs === 'number' ? new Date(session.loginTs * 1000).toISOString() : undefined,
        apps: Object.keys(session.authorizations ?? {}).sort(),
      }))
  );
}
