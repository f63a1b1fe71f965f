/**
 * The upstream a sign-in went through, as recorded in its `amr` (Authentication Methods
 * References): `upstream:<id>`, written at the upstream callback (upstream-login.ts) into the
 * session, and carried by oidc-provider onto the codes and refresh tokens of that session, and
 * by the gateway into its access tokens (access-token-claims.ts).
 *
 * Every decision that depends on the upstream (a client's `allowed_upstreams`, a host rule's,
 * which upstream re-checks a refresh, which upstream's token an exchange returns) reads it here,
 * for the sign-in at hand, never the account's latest upstream: a linked account may have
 * signed in elsewhere through another since.
 */
const PREFIX = 'upstream:';

/** The upstream id in an `amr` value, or undefined (none recorded, or not a list of strings). */
export function signedInThrough(amr: unknown): string | undefined {
  if (!Array.isArray(amr)) return undefined;
  const found = amr.find((value): value is string => typeof value === 'string' && value.startsWith(PREFIX));
  return found?.slice(PREFIX.length);
}

/** The `amr` of a sign-in through upstream `id`. */
export const signInAmr = (id: string): string[] => ['fed', `${PREFIX}${id}`];
