/**
 * `fetch` for the API, with the access token as a Bearer token (RFC 6750 §2.1). Access tokens
 * are short-lived JWTs that the API verifies offline; when it answers 401 (expired), this
 * refreshes once with the refresh token (RFC 6749 §6; the gateway rotates it) and retries once.
 *
 * - Parallel calls that all get a 401 share one refresh: a rotated refresh token must not be
 *   presented twice.
 * - When the gateway refuses the refresh (`invalid_grant`: signed out elsewhere, session ended),
 *   the in-memory user is removed and `SignedOutError` thrown: the app shows "signed out".
 * - The request is sent again as given: pass a body that can be sent twice (a string, FormData,
 *   a Blob), not a stream.
 */
import { ErrorResponse, type User, type UserManager } from 'oidc-client-ts';

/** The user is not signed in (any more): show the sign-in button. */
export class SignedOutError extends Error {
  override name = 'SignedOutError';
}

export interface ApiFetchEvents {
  /** A refresh happened (the API had answered 401). */
  onRefreshed?(user: User): void;
  /** The gateway refused the refresh: the user has been removed. */
  onSignedOut?(): void;
}

export type ApiFetch = (input: string | URL, init?: RequestInit) => Promise<Response>;

function withBearer(init: RequestInit, accessToken: string): RequestInit {
  const headers = new Headers(init.headers);
  headers.set('authorization', `Bearer ${accessToken}`);
  // Bearer only: no cookies to another origin, so no CSRF surface at the API.
  return { ...init, headers, credentials: 'omit' };
}

export function createApiFetch(userManager: UserManager, events: ApiFetchEvents = {}): ApiFetch {
  let refreshing: Promise<User> | undefined;

  /** One refresh at a time; callers that arrive meanwhile wait for the same one. */
  function refreshOnce(): Promise<User> {
    refreshing ??= (async () => {
      try {
        const current = await userManager.getUser();
        if (!current?.refresh_token) throw new SignedOutError('no refresh token');
        // With a refresh token in hand, signinSilent() is the refresh_token grant (no iframe).
        const user = await userManager.signinSilent();
        if (!user) throw new SignedOutError('the gateway returned no user');
        events.onRefreshed?.(user);
        return user;
      } catch (error) {
        if (error instanceof ErrorResponse || error instanceof SignedOutError) {
          await userManager.removeUser();
          events.onSignedOut?.();
          throw new SignedOutError(error instanceof ErrorResponse ? (error.error ?? 'refresh refused') : error.message);
        }
        throw error; // a network error: keep the user, the next call tries again
      } finally {
        refreshing = undefined;
      }
    })();
    return refreshing;
  }

  return async function apiFetch(input, init = {}) {
    const user = await userManager.getUser();
    if (!user?.access_token) throw new SignedOutError('not signed in');
    const first = await fetch(input, withBearer(init, user.access_token));
    if (first.status !== 401) return first;
    await first.body?.cancel();
    // Another call may have refreshed already while this one was in flight.
    const current = await userManager.getUser();
    const fresh = current?.access_token && current.access_token !== user.access_token ? current : await refreshOnce();
    return fetch(input, withBearer(init, fresh.access_token));
  };
}
