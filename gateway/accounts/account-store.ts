/**
 * Upstream identity → local account. The link (upstream issuer, upstream sub) → local sub is
 * written with `setIfAbsent`, so two parallel first sign-ins of one person make one account.
 * Users are keyed on the upstream `sub`, never on e-mail (Google's advice: e-mails change hands).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Store } from '../../adapters/store.ts';
import type { Account, UpstreamProfile } from './account.ts';
import { type GroupsRead, withGroupsRead } from './account-groups.ts';
import { claimUsername, usernameBase, usernameKey } from './claim-username.ts';

function linkKey(iss: string, sub: string): string {
  const issuer = createHash('sha256').update(iss).digest('base64url').slice(0, 16);
  return `account-link:${issuer}:${sub}`;
}

const accountKey = (sub: string) => `account:${sub}`;

/**
 * E-mail address → the subs of accounts that signed in with it (several: one person at two
 * upstreams, or an address that changed hands). An index to find accounts by, never to decide
 * who someone is: each hit is checked against its account's current address.
 */
const emailKey = (email: string) => `account-email:${email.toLowerCase()}`;
/** How long an address stays in the index after its last sign-in (longer than any session). */
const EMAIL_INDEX_TTL_MS = 400 * 24 * 60 * 60 * 1000;

/** The account with this local sub, if any. */
export async function findAccountBySub(store: Store, sub: string): Promise<Account | undefined> {
  return store.get<Account>(accountKey(sub));
}

/** What linking an upstream identity to an account did. */
export type LinkOutcome = { linked: true } | { linked: false; belongsTo: string };

/**
 * Links another upstream identity (an issuer and its `sub`) to the account `sub`, as an operator
 * decides (`npx gateway users link`): signing in as that identity then signs in as this account,
 * with its one `sub` everywhere. Never done on an e-mail match: an address at one provider says
 * nothing about who holds the same address at another. An identity that already has an account
 * stays with it (`belongsTo`): the operator must decide what becomes of that account first.
 */
export async function linkIdentity(
  store: Store,
  sub: string,
  identity: { iss: string; sub: string },
): Promise<LinkOutcome> {
  const key = linkKey(identity.iss, identity.sub);
  if (!(await store.setIfAbsent(key, sub))) {
    const owner = await store.get<string>(key);
    if (owner !== sub) return { linked: false, belongsTo: owner ?? 'an account that is being created' };
  }
  return { linked: true };
}

/** Writes an account back (after a profile update or an upstream check). */
/**
 * Every account's sub, in one of ACCOUNT_BUCKETS sets chosen by a hash of it: what `users list`
 * pages through a bucket at a time (about n/256 subs each), never the whole store.
 */
export const ACCOUNT_BUCKETS = 256;
const bucketKey = (bucket: number) => `account-index:${bucket}`;
const bucketOf = (sub: string) => createHash('sha256').update(sub).digest()[0] ?? 0;
/** The index outlives any session by far; each save pushes it further. */
const ACCOUNT_INDEX_TTL_MS = 10 * 365 * 24 * 60 * 60 * 1000;

export async function saveAccount(store: Store, account: Account): Promise<void> {
  await Promise.all([
    store.set(accountKey(account.sub), account),
    store.addToSet(bucketKey(bucketOf(account.sub)), account.sub, ACCOUNT_INDEX_TTL_MS),
    account.email === undefined ? undefined : store.addToSet(emailKey(account.email), account.sub, EMAIL_INDEX_TTL_MS),
  ]);
}

/** The accounts whose current address is `email` (case aside), as far as the index knows. */
export async function findAccountsByEmail(store: Store, email: string): Promise<Account[]> {
  const subs = await store.setMembers(emailKey(email));
  const accounts = await Promise.all(subs.map((sub) => findAccountBySub(store, sub)));
  return accounts.filter(
    (account): account is Account =>
      account?.email !== undefined && account.email.toLowerCase() === email.toLowerCase(),
  );
}

/** The account an upstream identity (its issuer and `sub` there) signs in as, if any. */
export async function findAccountByIdentity(store: Store, iss: string, sub: string): Promise<Account | undefined> {
  const local = await store.get<string>(linkKey(iss, sub));
  return local === undefined ? undefined : findAccountBySub(store, local);
}

/**
 * Disables an account (its sign-ins refused, its tokens' refreshes `invalid_grant`: find-account.ts,
 * upstream-login.ts) or enables it again; undefined when there is no such account. Ending the
 * sessions it has is the caller's (the one sign-out).
 */
export async function setAccountDisabled(store: Store, sub: string, disabled: boolean): Promise<Account | undefined> {
  const account = await findAccountBySub(store, sub);
  if (!account) return undefined;
  const { disabledAt: _was, ...rest } = account;
  if (!disabled && account.disabledAt !== undefined) {
    // Sessions are compared by their sign-in second (sessionSignedInBeforeDisable): the account
    // opens in the second after the disable's, so no new sign-in shares that second.
    const wait = (Math.floor(account.disabledAt / 1000) + 1) * 1000 - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }
  const updated: Account = disabled
    ? { ...rest, disabledAt: account.disabledAt ?? Date.now() }
    : { ...rest, ...(account.disabledAt === undefined ? {} : { lastDisabledAt: account.disabledAt }) };
  await saveAccount(store, updated);
  return updated;
}

/** The account with this user name (`preferred_username`), if any. */
export async function findAccountByUsername(store: Store, username: string): Promise<Account | undefined> {
  const sub = await store.get<string>(usernameKey(username));
  return sub === undefined ? undefined : findAccountBySub(store, sub);
}

/**
 * Finds or creates the account for an upstream identity and refreshes its profile claims. A new
 * account's user name is never one of `reservedUsernames` as it is (claim-username.ts).
 */
export async function resolveAccount(
  store: Store,
  upstream: Account['upstream'],
  profile: UpstreamProfile,
  reservedUsernames: readonly string[],
  /** What this upstream's group source said, when it is one (upstream-profile.ts readGroups). */
  groups?: GroupsRead,
): Promise<Account> {
  const key = linkKey(upstream.iss, upstream.sub);
  let sub = await store.get<string>(key);
  if (sub === undefined) {
    const candidate = randomUUID();
    sub = (await store.setIfAbsent(key, candidate)) ? candidate : await store.get<string>(key);
    if (sub === undefined) throw new Error('account link vanished right after it was written');
  }
  const now = Date.now();
  const existing = await findAccountBySub(store, sub);
  const resolved: Account = {
    ...existing,
    ...withoutUndefined(profile),
    // The address is this sign-in's or none: one the upstream no longer gives (removed, or
    // consent to share it withdrawn) is not vouched for any more.
    email: profile.email,
    email_verified: profile.email === undefined ? undefined : profile.email_verified,
    sub,
    upstream,
    preferred_username:
      existing?.preferred_username ??
      (await claimUsername(store, sub, usernameBase(profile.email, profile.name), reservedUsernames)),
    createdAt: existing?.createdAt ?? now,
    updatedAt: now,
    upstreamCheckedAt: now,
    ...(upstream.id === undefined ? {} : { upstreamChecks: { ...existing?.upstreamChecks, [upstream.id]: now } }),
    emailFrom: profile.email === undefined ? undefined : upstream.id,
  };
  const account =
    groups === undefined || upstream.id === undefined ? resolved : withGroupsRead(resolved, upstream.id, groups, now);
  await saveAccount(store, account);
  return account;
}

/** The entries of `value` that are set (a spread of the result never erases a known claim). */
export function withoutUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * Whether a session of `account` signed in at `loginTs` (epoch seconds) is one a disable ended:
 * the account is disabled, or the session signed in no later than the second of its last
 * disable (a sign-in that raced it, resumed afterwards). Such a session must sign in again.
 */
export function sessionEndedByDisable(account: Account | undefined, loginTs: number | undefined): boolean {
  if (account?.disabledAt !== undefined) return true;
  return account?.lastDisabledAt !== undefined && (loginTs ?? 0) <= Math.floor(account.lastDisabledAt / 1000);
}

/** A page of accounts, and where the next one starts (undefined: the last page). */
export interface AccountPage {
  accounts: Account[];
  next: string | undefined;
}

/**
 * Accounts a page at a time, in a stable order (bucket, then sub), from `after` (the `next` of the
 * previous page; undefined: the first). `keep` filters (an upstream); pages fill across buckets.
 */
export async function listAccounts(
  store: Store,
  options: { limit: number; after?: string | undefined; keep?: (account: Account) => boolean },
): Promise<AccountPage> {
  const cursor = /^(\d{1,3})\.([^\s.]*)$/.exec(options.after ?? '0.');
  let bucket = Number(cursor?.[1]);
  let afterSub = cursor?.[2] ?? '';
  if (!cursor || bucket >= ACCOUNT_BUCKETS) throw new RangeError('not a cursor of users list');
  const accounts: Account[] = [];
  // A filter that keeps few accounts ends a page after MAX_FILTERED_BUCKETS buckets, partial,
  // with the cursor to go on: no request reads the whole store.
  const lastBucket = options.keep ? Math.min(ACCOUNT_BUCKETS, bucket + MAX_FILTERED_BUCKETS) : ACCOUNT_BUCKETS;
  for (; bucket < lastBucket; bucket += 1, afterSub = '') {
    const subs = (await store.setMembers(bucketKey(bucket))).sort().filter((sub) => sub > afterSub);
    for (let i = 0; i < subs.length; i += 100) {
      const chunk = subs.slice(i, i + 100);
      const found = await store.getMany<Account>(chunk.map(accountKey));
      for (const [j, account] of found.entries()) {
        if (!account || (options.keep && !options.keep(account))) continue;
        accounts.push(account);
        if (accounts.length === options.limit) {
          const last = chunk[j] ?? '';
          return { accounts, next: `${bucket}.${last}` };
        }
      }
    }
  }
  return { accounts, next: bucket < ACCOUNT_BUCKETS ? `${bucket}.` : undefined };
}

/** Buckets one filtered page reads at most (about 16/256 of the accounts). */
const MAX_FILTERED_BUCKETS = 16;
