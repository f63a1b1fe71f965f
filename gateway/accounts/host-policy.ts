/**
 * Who may pass forward auth for a host (`GATEWAY_HOST_RULES`): the most specific rule for the
 * host applies (an exact host beats `.example.com`, a longer suffix beats a shorter one); a host
 * without a rule admits every signed-in user (the sign-in policy already applied at sign-in).
 * A rule admits a user matching any of its e-mails, domains or groups, and, when it names
 * `allowed_upstreams`, only one who signed in through one of those.
 */
import type { HostRule } from '../../config/forward-auth-parsers.ts';
import { hostMatches, parseDomainPattern } from '../web/domain-match.ts';

export interface Identity {
  email?: string | undefined;
  groups?: readonly string[] | undefined;
  /** The id of the upstream the session signed in through (the access token's `amr`). */
  upstream?: string | undefined;
}

export interface HostPolicy {
  allows(hostname: string, identity: Identity): boolean;
}

function specificity(rule: HostRule): number {
  // exact hosts first, then longer suffixes
  return rule.host.startsWith('.') ? rule.host.length : 10_000 + rule.host.length;
}

export function createHostPolicy(rules: readonly HostRule[]): HostPolicy {
  const ordered = [...rules]
    .sort((a, b) => specificity(b) - specificity(a))
    .map((rule) => ({ rule, pattern: parseDomainPattern(rule.host) }));
  return {
    allows(hostname, identity) {
      const match = ordered.find(({ pattern }) => hostMatches({ ...pattern, port: undefined }, hostname, ''));
      if (!match) return true;
      const { rule } = match;
      // An upstream rule holds besides the others: contractors at GitHub stay out of a staff host
      // even with an address a staff rule would admit.
      if (rule.allowed_upstreams && !(identity.upstream && rule.allowed_upstreams.includes(identity.upstream)))
        return false;
      if (!rule.allowed_emails && !rule.allowed_email_domains && !rule.allowed_groups)
        return rule.allowed_upstreams !== undefined;
      const email = identity.email?.toLowerCase();
      const domain = email?.split('@')[1];
      if (rule.allowed_emails?.some((allowed) => allowed.toLowerCase() === email)) return true;
      if (domain && rule.allowed_email_domains?.some((allowed) => allowed.toLowerCase() === domain)) return true;
      if (rule.allowed_groups?.some((group) => identity.groups?.includes(group))) return true;
      return false;
    },
  };
}

/** The groups an e-mail address belongs to (`GATEWAY_GROUPS`). */
export function groupsOf(email: string | undefined, groups: Readonly<Record<string, readonly string[]>>): string[] {
  if (!email) return [];
  const lower = email.toLowerCase();
  return Object.entries(groups)
    .filter(([, members]) => members.some((member) => member.toLowerCase() === lower))
    .map(([name]) => name);
}
