/** A local account: one per (upstream issuer, upstream sub). */
export interface Account {
  /** The gateway's own subject identifier: random, stable, never reused. */
  sub: string;
  /**
   * Who the user is upstream: the issuer and its `sub` (the key of the account), and the id of
   * the configured upstream they signed in through (absent on accounts older than upstream ids).
   */
  upstream: { iss: string; sub: string; id?: string };
  /** Unique by construction (see claim-username.ts), stable once given. */
  preferred_username: string;
  email?: string;
  email_verified?: boolean;
  name?: string;
  given_name?: string;
  family_name?: string;
  picture?: string;
  locale?: string;
  /** Google Workspace domain. */
  hd?: string;
  createdAt: number;
  updatedAt: number;
  /** When the upstream account was last confirmed alive (epoch ms), at any upstream. */
  upstreamCheckedAt: number;
  /**
   * When each upstream (by id) last confirmed the user, by a sign-in or a re-check: a linked
   * account's refreshes are re-checked at their own upstream on its own clock.
   */
  upstreamChecks?: Record<string, number>;
  /** The id of the upstream that gave `email` (absent on accounts older than the record). */
  emailFrom?: string;
  /** The groups each group-source upstream (by id) gave at its last sign-in or re-check. */
  groupsAt?: Record<string, string[]>;
  /** When each upstream's groups were last read (epoch ms): a failing source's stay this long. */
  groupsReadAt?: Record<string, number>;
  /** When an operator disabled the account (`npx gateway users disable`): no sign-in, no refresh. */
  disabledAt?: number;
  /**
   * When it was last disabled, once enabled again: a session signed in before then (in that
   * second or earlier: a sign-in that raced the disable) must sign in again.
   */
  lastDisabledAt?: number;
}

/** The profile claims taken from the upstream at each sign-in. */
export type UpstreamProfile = Pick<
  Account,
  'email' | 'email_verified' | 'name' | 'given_name' | 'family_name' | 'picture' | 'locale' | 'hd'
>;

/** The standard claims an account releases, by claim name, with its groups (account-groups.ts). */
export function accountClaims(account: Account, groups: readonly string[] = []): Record<string, unknown> {
  return {
    ...(groups.length > 0 ? { groups } : {}),
    sub: account.sub,
    email: account.email,
    email_verified: account.email_verified,
    name: account.name,
    given_name: account.given_name,
    family_name: account.family_name,
    picture: account.picture,
    locale: account.locale,
    preferred_username: account.preferred_username,
    hd: account.hd,
    updated_at: Math.floor(account.updatedAt / 1000),
  };
}
