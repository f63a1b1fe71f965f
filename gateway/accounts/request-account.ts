/**
 * The account a request has already read, so that one token request reads it once: oidc-provider
 * finds the account (find-account.ts, which may also re-check it at its upstream), then asks for
 * the access token's claims (access-token-claims.ts), which need the same account. Kept per Koa
 * context, so it lives exactly as long as the request; a fresh read whenever no find came first.
 */
import type { Account } from './account.ts';

const seen = new WeakMap<object, Account>();

/** `account` is what this request found (after any re-check at its upstream). */
export function rememberAccount(ctx: unknown, account: Account): void {
  if (typeof ctx === 'object' && ctx !== null) seen.set(ctx, account);
}

/** The account this request found for `sub`, if it found one. */
export function accountFoundBy(ctx: unknown, sub: string): Account | undefined {
  if (typeof ctx !== 'object' || ctx === null) return undefined;
  const account = seen.get(ctx);
  return account?.sub === sub ? account : undefined;
}
