/**
 * What an access token says about its user, beyond `sub` (RFC 9068 §2.2.2 allows identity
 * claims): what the user consented to by scope (`email`, `profile`), their groups, and the SSO
 * session (`session_uid`), so forward auth and apps decide offline, and a signed-out session can
 * be refused by its uid alone.
 */
import type { Store } from '../../adapters/store.ts';
import { findAccountBySub } from '../accounts/account-store.ts';
import { groupsOf } from '../forward-auth/host-policy.ts';

interface TokenLike {
  kind?: string;
  accountId?: string;
  scope?: string;
  sessionUid?: string;
}

export function createAccessTokenClaims(store: Store, groups: Readonly<Record<string, readonly string[]>>) {
  return async (_ctx: unknown, token: TokenLike): Promise<Record<string, unknown> | undefined> => {
    if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
    const claims: Record<string, unknown> = {};
    // The SSO session's uid (not OIDC's per-client `sid`): one value for every app of a sign-in.
    if (token.sessionUid) claims['session_uid'] = token.sessionUid;
    const account = await findAccountBySub(store, token.accountId);
    if (!account) return claims;
    const scopes = new Set((token.scope ?? '').split(' '));
    if (scopes.has('email') && account.email) {
      claims['email'] = account.email;
      claims['email_verified'] = account.email_verified === true;
    }
    if (scopes.has('profile')) {
      claims['preferred_username'] = account.preferred_username;
      if (account.name) claims['name'] = account.name;
    }
    const memberOf = groupsOf(account.email, groups);
    if (memberOf.length > 0) claims['groups'] = memberOf;
    return claims;
  };
}
