/**
 * The sign-in transaction of `/oauth2/start` → `/oauth2/callback` (sign-in-flow.ts): what the
 * callback needs to redeem the code (state, nonce, PKCE verifier, where to go after), kept in a
 * signed, short-lived cookie scoped to the callback path.
 */
import { securePathCookieName } from './forward-auth-cookie.ts';

export interface SignInTransaction {
  state: string;
  nonce: string;
  verifier: string;
  rd: string;
  /** The callback this sign-in was started for: the code is redeemed there or nowhere. */
  redirectUri: string;
}

const TX_COOKIE_PREFIX = '_gateway_auth_tx_';
/** What `client.randomState()` makes (base64url); a bound on the length keeps a cookie name short. */
const STATE_PATTERN = /^[\w-]{1,256}$/;

/**
 * The cookie of the sign-in with this state: one cookie per attempt (named after the state), so
 * sign-ins in parallel tabs do not collide.
 */
export function transactionCookieName(state: string, secure: boolean): string {
  return securePathCookieName(`${TX_COOKIE_PREFIX}${state.slice(0, 12)}`, secure);
}

/**
 * The callback's `state`, or '' when it is nothing `client.randomState()` makes: such a value is
 * no state of ours, and could not name a cookie (found by tests/fuzz.test.ts).
 */
export function callbackState(state: string | undefined): string {
  return STATE_PATTERN.test(state ?? '') ? (state ?? '') : '';
}

/** The transaction in a verified cookie value; undefined when there is none, or it is no JSON. */
export function parseTransaction(value: string | null | undefined): SignInTransaction | undefined {
  if (!value) return undefined;
  try {
    return (JSON.parse(value) as SignInTransaction | null) ?? undefined;
  } catch {
    return undefined;
  }
}
