/**
 * oauth2-proxy's per-location restrictions, so that an nginx snippet migrated from it keeps its
 * meaning: `auth_request /oauth2/auth?allowed_groups=ops&allowed_emails=…&allowed_email_domains=…;`
 * (comma-separated lists). Each parameter given must be met (a user in one of the groups, one of
 * the e-mails, within one of the domains), together with `GATEWAY_HOST_RULES` (AND).
 *
 * Fails closed: a parameter the gateway does not know (`allowed_group`, a typo), a repeated one or
 * an empty list refuses everyone with 403 and a warning naming it, instead of silently letting every
 * signed-in user in. Parsed once per distinct query string (nginx sends the same few on every
 * request), never per request.
 */
import { BoundedCache } from '../web/bounded-cache.ts';
import type { Identity } from '../accounts/host-policy.ts';

const KNOWN = new Set(['allowed_groups', 'allowed_emails', 'allowed_email_domains']);

export type QueryPolicy = { ok: true; allows(identity: Identity): boolean } | { ok: false; problem: string };

const EVERYONE: QueryPolicy = { ok: true, allows: () => true };

function list(value: string, lowerCase: boolean): string[] {
  const items = value
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
  return lowerCase ? items.map((item) => item.toLowerCase()) : items;
}

/** The restrictions a query string (without `?`) asks for, or why it cannot be honoured. */
export function parseQueryPolicy(query: string): QueryPolicy {
  if (query === '') return EVERYONE;
  const seen = new Map<string, string[]>();
  for (const [name, value] of new URLSearchParams(query)) {
    if (!KNOWN.has(name))
      return {
        ok: false,
        problem: `unknown parameter ${JSON.stringify(name.slice(0, 64))} (known: ${[...KNOWN].join(', ')})`,
      };
    if (seen.has(name)) return { ok: false, problem: `${name} is given more than once` };
    // Group names compare exactly (as GATEWAY_HOST_RULES does); e-mail addresses and domains do not.
    const items = list(value, name !== 'allowed_groups');
    if (items.length === 0) return { ok: false, problem: `${name} is empty` };
    seen.set(name, items);
  }
  const groups = seen.get('allowed_groups');
  const emails = seen.get('allowed_emails');
  const domains = seen.get('allowed_email_domains');
  return {
    ok: true,
    allows(identity) {
      const email = identity.email?.toLowerCase();
      if (groups && !identity.groups?.some((group) => groups.includes(group))) return false;
      if (emails && (email === undefined || !emails.includes(email))) return false;
      if (domains) {
        const domain = email?.slice(email.lastIndexOf('@') + 1);
        if (domain === undefined || !domains.some((allowed) => allowed === domain || allowed === '*')) return false;
      }
      return true;
    },
  };
}

/**
 * {@link parseQueryPolicy} behind a small cache keyed by the raw query string; `onProblem` hears
 * of each query that refuses everyone, once while it is cached.
 */
export function createQueryPolicies(onProblem: (problem: string) => void): (query: string) => QueryPolicy {
  const cache = new BoundedCache<QueryPolicy>(1_000);
  return (query) => {
    if (query === '') return EVERYONE;
    const hit = cache.get(query);
    if (hit) return hit;
    const policy = parseQueryPolicy(query);
    if (!policy.ok) onProblem(policy.problem);
    cache.set(query, policy, Number.MAX_SAFE_INTEGER);
    return policy;
  };
}
