/**
 * The identity from an upstream sign-in: from the userinfo response, with the id_token's claims
 * filling any gap. Both are optional upstream (Google may omit the id_token), but their `sub`
 * must agree (OIDC Core §5.3.2), which fetchUserInfo checks when given the id_token's sub.
 */
import { inSpan } from '../ops/tracing.ts';
import type { UpstreamConfig } from '../../config/config-type.ts';
import type { UpstreamProfile } from '../accounts/account.ts';
import type { Memberships } from './check-identity.ts';

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

/** Google has sent `email_verified` both as a boolean and as the string "true". */
function bool(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (value === 'true') return true;
  if (value === 'false') return false;
  return undefined;
}

/** Merges userinfo over id_token claims into the profile we keep. */
export function upstreamProfile(
  userinfo: Record<string, unknown>,
  idToken: Record<string, unknown> | undefined,
): UpstreamProfile {
  const pick = (name: string) => userinfo[name] ?? idToken?.[name];
  return {
    email: str(pick('email'))?.toLowerCase(),
    email_verified: bool(pick('email_verified')),
    // Kakao and Naver give a nickname only.
    name: str(pick('name')) ?? str(pick('nickname')),
    given_name: str(pick('given_name')),
    family_name: str(pick('family_name')),
    picture: str(pick('picture')),
    locale: str(pick('locale')),
    hd: str(pick('hd'))?.toLowerCase(),
  };
}

function lowerList(value: unknown): string[] | undefined {
  return Array.isArray(value)
    ? value.filter((v): v is string => typeof v === 'string').map((v) => v.toLowerCase())
    : undefined;
}

/**
 * The memberships the upstream vouches for: Microsoft's `tid`, the GitHub client's `orgs`, GitLab's
 * `groups` (userinfo has all the user's groups; the ID token only direct ones, as `groups_direct`).
 * Each rule is checked only for its own type (check-identity.ts), so an `oidc` upstream sending
 * a `tid` or `groups` claim of its own decides nothing.
 */
export function upstreamMemberships(
  userinfo: Record<string, unknown>,
  idToken: Record<string, unknown> | undefined,
): Memberships {
  return {
    tenant: str(userinfo['tid'] ?? idToken?.['tid'])?.toLowerCase(),
    orgs: lowerList(userinfo['orgs']),
    groups: lowerList(userinfo['groups'] ?? idToken?.['groups_direct']),
  };
}

/** At most this many groups per upstream, each at most this long: a claim is no place for a dump. */
const MAX_GROUPS = 200;
const MAX_GROUP_LENGTH = 256;

/**
 * The groups an upstream releases for the user, when the operator asked for them (a
 * `groups_claim`, or `groups: true` at GitHub and Microsoft): undefined when this upstream is no
 * group source.
 * GitHub's and GitLab's names are case-insensitive there, so lower-cased; another provider's are
 * kept as given (they may be ids). The apps see them as `<upstream id>:<group>` (account-groups.ts).
 */
export function upstreamGroups(
  upstream: Pick<UpstreamConfig, 'type' | 'groupsClaim' | 'apiGroups'>,
  userinfo: Record<string, unknown>,
  idToken: Record<string, unknown> | undefined,
): string[] | undefined {
  // GitHub's and Microsoft's come from their API, by the client, as `groups` in its answer.
  const fromApi = upstream.type === 'github' || upstream.type === 'microsoft';
  const claim = fromApi ? (upstream.apiGroups ? 'groups' : undefined) : upstream.groupsClaim;
  if (claim === undefined) return undefined;
  const value = userinfo[claim] ?? idToken?.[claim];
  return cleanGroups(Array.isArray(value) ? value : [], upstream.type === 'github' || upstream.type === 'gitlab');
}

/**
 * The names kept of what an upstream gave: strings of at most MAX_GROUP_LENGTH, without a comma,
 * space or control character (X-Auth-Request-Groups is a comma-separated list, and an app
 * splitting `x,ops` would see `ops`), lower-cased where the provider ignores case, each once, at
 * most MAX_GROUPS.
 */
function cleanGroups(names: readonly unknown[], lower: boolean): string[] {
  const kept = names.filter(
    (v): v is string =>
      typeof v === 'string' && v.length > 0 && v.length <= MAX_GROUP_LENGTH && !/[,\s\p{Cc}]/u.test(v),
  );
  return [...new Set(lower ? kept.map((n) => n.toLowerCase()) : kept)].slice(0, MAX_GROUPS);
}

/**
 * The user's groups at `upstream`: from its group source (Google's Directory) when it has one,
 * else from the claims (upstreamGroups). Undefined when it is no group source, or when its source
 * failed (the caller keeps the last known groups for a while: account-groups.ts); a failure is
 * logged, never fatal: the sign-in of a user whose rules need no groups goes on.
 */
export async function readGroups(
  upstream: {
    config: Pick<UpstreamConfig, 'id' | 'type' | 'groupsClaim' | 'apiGroups'>;
    groupSource?: { groupsOf(email: string): Promise<string[]> };
  },
  userinfo: Record<string, unknown>,
  idToken: Record<string, unknown> | undefined,
  email: string | undefined,
  log: { warn(obj: object, msg: string): void },
): Promise<{ groups: string[] | undefined; failed: boolean }> {
  const failed = (message: unknown) => {
    log.warn(
      { upstream: upstream.config.id, err: { message } },
      'the group source failed: the last known groups stand for now',
    );
    return { groups: undefined, failed: true };
  };
  // GitHub's and Microsoft's clients read groups with the profile, and say so when they could not.
  if (typeof userinfo['groupsFailed'] === 'string') return failed(userinfo['groupsFailed']);
  // Entra's overage: too many groups for the token, which names a claim source instead
  // (`_claim_names`, OpenID Connect Core §5.6.2). Never read as "no groups".
  const claim = upstream.config.groupsClaim;
  if (claim !== undefined && userinfo[claim] === undefined && idToken?.[claim] === undefined) {
    const named = [userinfo['_claim_names'], idToken?.['_claim_names']].some(
      (names) => typeof names === 'object' && names !== null && claim in names,
    );
    if (named)
      return failed(
        `the ${claim} claim was left out for a distributed claim source (too many groups for the token: a microsoft upstream with groups: true reads them from Graph)`,
      );
  }
  if (!upstream.groupSource) return { groups: upstreamGroups(upstream.config, userinfo, idToken), failed: false };
  if (email === undefined) return { groups: [], failed: false };
  try {
    // Group e-mail addresses: case does not matter to Google.
    const source = upstream.groupSource;
    const groups = await inSpan('upstream.groups', { 'gateway.upstream.id': upstream.config.id }, () =>
      source.groupsOf(email),
    );
    return { groups: cleanGroups(groups, true), failed: false };
  } catch (error) {
    return failed((error as { message?: unknown }).message);
  }
}
