/**
 * The development IdP's users: whoever typed an e-mail address into its sign-in form.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { Account, AccountClaims } from 'oidc-provider';

/** What the sign-in form collected; the claims Google would release for it. */
export interface DevAccount {
  /** Stable subject; the relying party must key users on this, never on `email`. */
  sub: string;
  email: string;
  /** Absent when the sign-in asked for it to be left out, as Microsoft Entra ID never sends it. */
  email_verified?: boolean;
  name: string;
  given_name: string;
  family_name?: string;
  /** Google Workspace domain; absent for consumer accounts, as with Google. */
  hd?: string;
  locale: string;
}

/** What a sign-in submits; everything but `email` has a default. */
export interface DevIdentity {
  email: string;
  name?: string;
  sub?: string;
  /** Default true; `unsent` leaves the claim out. */
  email_verified?: boolean | 'unsent';
  hd?: string;
}

/** Accounts kept in memory, by `sub`. */
export interface AccountStore {
  /** Creates or updates the account for a sign-in and returns it. */
  upsert(identity: DevIdentity): DevAccount;
  get(sub: string): DevAccount | undefined;
  /** The oidc-provider view of an account (`findAccount`). */
  toOidcAccount(account: DevAccount): Account;
}

/**
 * The default `sub` for an e-mail address: a stable hash of it, lower-cased, shaped like a Google
 * subject (a 21-digit decimal string), so the same address is the same user across restarts.
 */
export function defaultSubject(email: string): string {
  const digest = createHash('sha256').update(email.trim().toLowerCase()).digest('hex');
  return `1${(BigInt(`0x${digest}`) % 10n ** 20n).toString().padStart(20, '0')}`;
}

/** Creates an empty account store. */
export function createAccountStore(): AccountStore {
  const accounts = new Map<string, DevAccount>();

  return {
    upsert(identity) {
      const email = identity.email.trim();
      const sub = identity.sub?.trim() || defaultSubject(email);
      const name = identity.name?.trim() || email.slice(0, email.indexOf('@'));
      const [given, ...family] = name.split(/\s+/);
      const account: DevAccount = {
        sub,
        email,
        name,
        given_name: given ?? name,
        locale: 'en',
      };
      if (identity.email_verified !== 'unsent') account.email_verified = identity.email_verified ?? true;
      if (family.length > 0) account.family_name = family.join(' ');
      if (identity.hd) account.hd = identity.hd;
      accounts.set(sub, account);
      return account;
    },
    get(sub) {
      return accounts.get(sub);
    },
    toOidcAccount(account) {
      return {
        accountId: account.sub,
        // oidc-provider filters these down to the granted scopes and requested claims.
        claims: (): AccountClaims => ({ ...account }),
      };
    },
  };
}
