/**
 * oidc-provider's `findAccount`: local accounts, plus the upstream re-check on refresh.
 *
 * When an app refreshes its tokens, the user's upstream account is confirmed at most once per
 * `recheckInterval` (as Dex does): the upstream userinfo is called with the stored upstream token
 * (refreshed on expiry or 401), the profile is updated and the sign-in policy applied again. A
 * gone upstream grant or a policy that no longer admits the user makes the account "not found",
 * which oidc-provider turns into `invalid_grant` for the app: never a 500.
 */
import { errors, type FindAccount, type KoaContextWithOIDC } from 'oidc-provider';
import type { Store } from '../../adapters/store.ts';
import { accountClaims, type Account, type UpstreamProfile } from '../accounts/account.ts';
import { findAccountBySub, saveAccount, withoutUndefined } from '../accounts/account-store.ts';
import { rememberAccount } from '../accounts/request-account.ts';
import { checkIdentity } from '../upstream/check-identity.ts';
import { readGroups, upstreamMemberships, upstreamProfile } from '../upstream/upstream-profile.ts';
import { releasedGroups, withGroupsRead } from '../accounts/account-groups.ts';
import { signedInThrough } from '../upstream/signed-in-through.ts';
import { UpstreamIdentityError } from '../upstream/upstream-client.ts';
import { UpstreamLinkGoneError } from '../upstream/upstream-tokens.ts';
import type { Upstream, Upstreams } from '../upstream/upstreams.ts';

export interface FindAccountDeps {
  store: Store;
  upstreams: Upstreams;
  recheckIntervalMs: number;
  /** GATEWAY_GROUPS, released with the upstream's groups (account-groups.ts). */
  staticGroups: Readonly<Record<string, readonly string[]>>;
  log: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

/** RFC 6749 §5.2 has no code for "try again later"; OIDC/OAuth use `temporarily_unavailable`. */
class TemporarilyUnavailable extends errors.OIDCProviderError {
  constructor(description: string) {
    super(503, 'temporarily_unavailable');
    this.error_description = description;
    // Safe to show: it names no internals, and the app should retry rather than sign the user out.
    this.expose = true;
  }
}

/** The profile claims of a stored account. */
function pickProfile(account: Account): UpstreamProfile {
  const { email, email_verified, name, given_name, family_name, picture, locale, hd } = account;
  return { email, email_verified, name, given_name, family_name, picture, locale, hd };
}

function toOidcAccount(deps: FindAccountDeps, account: Account, upstreamId: string | undefined) {
  const claims = accountClaims(account, releasedGroups(account, deps.staticGroups, upstreamId));
  return { accountId: account.sub, claims: () => claims as { sub: string } };
}

/**
 * The upstream that re-checks a refresh: that of the sign-in the refresh token comes from (its
 * `amr`), whose rules admitted it; for a linked account, not necessarily the account's latest.
 */
function upstreamOfRefresh(
  deps: FindAccountDeps,
  account: Account,
  upstreamId: string | undefined,
): Upstream | undefined {
  return (upstreamId === undefined ? undefined : deps.upstreams.byId(upstreamId)) ?? deps.upstreams.ofAccount(account);
}

/** When `upstream` last confirmed the user (accounts older than per-upstream records: their own upstream's). */
function lastCheckAt(account: Account, upstream: Upstream | undefined): number {
  if (!upstream) return 0;
  const recorded = account.upstreamChecks?.[upstream.config.id];
  if (recorded !== undefined) return recorded;
  const own = account.upstream.id === undefined || account.upstream.id === upstream.config.id;
  return own ? account.upstreamCheckedAt : 0;
}

async function recheckUpstream(
  deps: FindAccountDeps,
  account: Account,
  upstream: Upstream | undefined,
): Promise<Account | undefined> {
  if (!upstream) {
    // Its upstream was removed from the configuration: nobody can confirm the user any more.
    deps.log.info({ sub: account.sub, upstream: account.upstream.id }, 'upstream re-check: upstream not configured');
    return undefined;
  }
  const id = upstream.config.id;
  try {
    const info = await upstream.vault.userinfo(account.sub, account.upstream.sub);
    // What the upstream says now. An address it no longer gives is dropped (removed, or the
    // user withdrew consent to share it), except at Microsoft, whose Graph `/me` never vouches
    // for one: there the address of its last sign-in's ID token stays, if it was Microsoft's.
    const fresh = upstreamProfile(info, undefined);
    const emailFrom = account.emailFrom ?? account.upstream.id;
    const kept =
      upstream.config.type === 'microsoft' && emailFrom === id
        ? pickProfile(account)
        : { ...pickProfile(account), email: undefined, email_verified: undefined };
    const profile = { ...kept, ...withoutUndefined(fresh) };
    const refusal = checkIdentity(profile, upstream.policy, upstreamMemberships(info, undefined));
    if (refusal) {
      deps.log.info({ sub: account.sub, reason: refusal.description }, 'upstream re-check: account no longer admitted');
      return undefined;
    }
    const now = Date.now();
    const read = await readGroups(upstream, info, undefined, profile.email, deps.log);
    const updated: Account = {
      ...withGroupsRead(account, id, read, now),
      ...profile,
      updatedAt: now,
      upstreamCheckedAt: now,
      upstreamChecks: { ...account.upstreamChecks, [id]: now },
      emailFrom: profile.email === undefined ? undefined : fresh.email === undefined ? emailFrom : id,
    };
    await saveAccount(deps.store, updated);
    return updated;
  } catch (error) {
    if (error instanceof UpstreamLinkGoneError || error instanceof UpstreamIdentityError) {
      deps.log.info({ sub: account.sub, reason: error.message }, 'upstream re-check: upstream link ended');
      return undefined;
    }
    // Only code and message: an upstream error's `cause` can hold a token response body.
    const { code, message } = error as { code?: unknown; message?: unknown };
    deps.log.warn({ sub: account.sub, err: { code, message } }, 'upstream re-check failed');
    throw new TemporarilyUnavailable('the upstream identity provider could not be reached; try again shortly');
  }
}

/** What findAccount is given of a refresh token. */
interface RefreshTokenLike {
  kind?: string;
  amr?: unknown;
  grantId?: string;
  destroy?: () => Promise<void>;
}

/**
 * A user the upstream no longer admits: the grant ends (its refresh token and every token under
 * it), so that a later change at the upstream does not bring this refresh token back to life.
 */
async function endRefusedGrant(ctx: KoaContextWithOIDC | undefined, token: RefreshTokenLike): Promise<void> {
  const grant = token.grantId ? await ctx?.oidc?.provider?.Grant.find(token.grantId) : undefined;
  await grant?.destroy();
  await token.destroy?.();
}

export function createFindAccount(deps: FindAccountDeps): FindAccount {
  return async (ctx: KoaContextWithOIDC, sub: string, token?: unknown) => {
    const account = await findAccountBySub(deps.store, sub);
    // A disabled account is no account: codes, refreshes and userinfo all fail (invalid_grant).
    if (!account || account.disabledAt !== undefined) return undefined;
    rememberAccount(ctx, account);
    const refresh = token as RefreshTokenLike | undefined;
    // The sign-in's upstream, where the token says (codes and refresh tokens carry its amr).
    const through = signedInThrough(refresh?.amr);
    if (refresh?.kind !== 'RefreshToken') return toOidcAccount(deps, account, through);
    const upstream = upstreamOfRefresh(deps, account, through);
    // Each upstream on its own clock: a sign-in elsewhere does not postpone this one's check.
    if (Date.now() - lastCheckAt(account, upstream) >= deps.recheckIntervalMs) {
      const checked = await recheckUpstream(deps, account, upstream);
      if (checked) rememberAccount(ctx, checked);
      if (!checked) await endRefusedGrant(ctx, refresh);
      return checked ? toOidcAccount(deps, checked, upstream?.config.id) : undefined;
    }
    return toOidcAccount(deps, account, upstream?.config.id);
  };
}
