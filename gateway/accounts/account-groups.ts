/**
 * The groups a user is released with: those of the static map (`GATEWAY_GROUPS`, by e-mail), and
 * those the upstream of the sign-in gives (a `groups_claim`, GitHub's organizations and teams),
 * named `<upstream id>:<group>`. The prefix keeps sources apart: anyone can create a GitHub
 * organization called `ops`, and it must not be the operator's `ops`. Only the sign-in's own
 * upstream counts: a linked account's groups at another upstream are that upstream's sign-ins'.
 */
import type { Account } from './account.ts';
import { groupsOf } from './host-policy.ts';

export function releasedGroups(
  account: Account,
  staticGroups: Readonly<Record<string, readonly string[]>>,
  upstreamId: string | undefined,
): string[] {
  const id = upstreamId ?? account.upstream.id;
  const fromUpstream = id === undefined ? [] : (account.groupsAt?.[id] ?? []).map((group) => `${id}:${group}`);
  return [...groupsOf(account.email, staticGroups), ...fromUpstream];
}

/** How long a group source that fails may leave a user with the groups it last gave. */
export const STALE_GROUPS_MS = 60 * 60 * 1000;

/**
 * The account after upstream `id`'s group source failed: its last known groups stand until they
 * are STALE_GROUPS_MS old, then none (rules that need groups refuse; others are unaffected).
 */
export function afterGroupSourceFailed(account: Account, id: string, now = Date.now()): Account {
  const readAt = account.groupsReadAt?.[id] ?? 0;
  if (now - readAt < STALE_GROUPS_MS || !account.groupsAt?.[id]?.length) return account;
  return { ...account, groupsAt: { ...account.groupsAt, [id]: [] } };
}

/** What an upstream's group source said at a sign-in or re-check (upstream-profile.ts readGroups). */
export interface GroupsRead {
  /** Its groups; undefined when it is no group source, or when it failed. */
  groups: string[] | undefined;
  failed: boolean;
}

/**
 * The account with what upstream `id`'s group source just said: its groups as of now, or, when it
 * failed, the last known ones while they last (afterGroupSourceFailed). The one place both the
 * sign-in and the refresh's re-check record groups.
 */
export function withGroupsRead(account: Account, id: string, read: GroupsRead, now = Date.now()): Account {
  if (read.failed) return afterGroupSourceFailed(account, id, now);
  if (read.groups === undefined) return account;
  return {
    ...account,
    groupsAt: { ...account.groupsAt, [id]: read.groups },
    groupsReadAt: { ...account.groupsReadAt, [id]: now },
  };
}
