/**
 * The development IdP's users: whoever typed an e-mail address into its sign-in form.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Account } from 'oidc-provider';

/** The claims Google would release for a sign-in with the `openid email profile` scopes. */
export interface DevAccount {
  /** Stable subject; the relying party must key users on this, never on `email`. */
  sub: string;
  email: string;
  email_verified: boolean;
  name: string;
  given_name: string;
  family_name?: string;
  locale: string;
}

/** What the sign-in form collects: an e-mail address and, optionally, a display name. */
export interface DevIdentity {
  email: string;
  name?: string;
}

/** Accounts kept in memory, by `sub`. */
export interface AccountStore {
  /** Creates or updates the account for a sign-in and returns it. */
  upsert(identity: DevIdentity): DevAccount;
  /** The oidc-provider view of an account (`findAccount`), if anyone signed in as `sub`. */
  find(sub: string): Account | undefined;
}

/**
 * The default `sub` for an e-mail address: a stable hash of it, lower-cased, shaped like a Google
 * subject (a 21-digit decimal string), so the same address is the same user across restarts.
 */
export function defaultSubject(email: string): string {
  const digest = createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
  return `1${(BigInt(`0x${digest}`) % 10n ** 20n).toString().padStart(20, '0')}`;
}

/**
 * The account a sign-in makes: the subject from the e-mail address, the display name (by default
 * the address's local part) split into given and family name as Google splits it, the address
 * taken as verified.
 */
export function devAccount(identity: DevIdentity): DevAccount {
  const email = identity.email.trim();
  const name = identity.name?.trim() || email.slice(0, email.indexOf('@'));
  const [given, ...family] = name.split(/\s+/);
  const account: DevAccount = {
    sub: defaultSubject(email),
    email,
    email_verified: true,
    name,
    given_name: given ?? name,
    locale: 'en',
  };
  if (family.length > 0) account.family_name = family.join(' ');
  return account;
}

/** Creates an empty account store. */
export function createAccountStore(): AccountStore {
  const accounts = new Map<string, DevAccount>();

  return {
    upsert(identity) {
      const account = devAccount(identity);
      accounts.set(account.sub, account);
      return account;
    },
    find(sub) {
      const account = accounts.get(sub);
      // oidc-provider filters the claims down to the granted scopes and requested claims.
      return account === undefined ? undefined : { accountId: sub, claims: () => ({ ...account }) };
    },
  };
}
