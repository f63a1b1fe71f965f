/**
 * What an access token says about its user, beyond `sub` (RFC 9068 §2.2.2 allows identity
 * claims): how they signed in (`amr`, with the upstream), what the user consented to by scope
 * (`email`, `profile`), their groups, and the SSO
 * session (`session_uid`), so forward auth and apps decide offline, and a signed-out session can
 * be refused by its uid alone.
 *
 * And the grant it was issued under (`grant_id`), which introspection (RFC 7662) and token
 * exchange look up to know whether the grant still lives: every ending (revocation, logout,
 * refresh-token reuse, sign-out) destroys the Grant record (end-grant.ts), on every instance,
 * since it is in the shared store. A claim rather than an index written at issue: it costs
 * nothing on the refresh path, and the token is signed, so it cannot point at another grant. The
 * id is no credential: no endpoint accepts a grant id from a request.
 */
import type { Store } from '../../adapters/store.ts';
import { findAccountBySub } from '../accounts/account-store.ts';
import { accountFoundBy } from '../accounts/request-account.ts';
import { releasedGroups } from '../accounts/account-groups.ts';
import { signedInThrough } from '../upstream/signed-in-through.ts';
import { GRANT_ID_CLAIM, GRANT_TYPE_CLAIM } from '../keys/access-token-verifier.ts';

interface TokenLike {
  kind?: string;
  accountId?: string;
  grantId?: string;
  scope?: string;
  sessionUid?: string;
}

/** Where the sign-in's `amr` is while a token is issued: the code, or the refresh token. */
interface IssuingContext {
  oidc?: { entities?: { AuthorizationCode?: { amr?: unknown }; RefreshToken?: { amr?: unknown } } };
}

export function createAccessTokenClaims(store: Store, groups: Readonly<Record<string, readonly string[]>>) {
  return async (ctx: unknown, token: TokenLike): Promise<Record<string, unknown> | undefined> => {
    // A machine's token (client credentials): `sub` is its client_id (RFC 9068 §2.2), and `gty`
    // says so, so that no app or forward-auth rule takes it for a user's.
    if (token.kind === 'ClientCredentials') return { [GRANT_TYPE_CLAIM]: 'client_credentials' };
    if (token.kind !== 'AccessToken' || !token.accountId) return undefined;
    const claims: Record<string, unknown> = {};
    // How the user signed in (RFC 9068 §2.2.1): `upstream:<id>` names the upstream, for host
    // rules' allowed_upstreams and for apps that care.
    const entities = (ctx as IssuingContext | undefined)?.oidc?.entities;
    const amr = entities?.AuthorizationCode?.amr ?? entities?.RefreshToken?.amr;
    if (Array.isArray(amr) && amr.every((value) => typeof value === 'string')) claims['amr'] = amr;
    if (token.grantId) claims[GRANT_ID_CLAIM] = token.grantId;
    // The SSO session's uid (not OIDC's per-client `sid`): one value for every app of a sign-in.
    if (token.sessionUid) claims['session_uid'] = token.sessionUid;
    // Read once per request: oidc-provider found this account a moment ago.
    const account = accountFoundBy(ctx, token.accountId) ?? (await findAccountBySub(store, token.accountId));
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
    const memberOf = releasedGroups(account, groups, signedInThrough(amr));
    if (memberOf.length > 0) claims['groups'] = memberOf;
    return claims;
  };
}
