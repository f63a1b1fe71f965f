/**
 * Who may pass forward auth (`GATEWAY_HOST_RULES`): rules per host, and within a host per path
 * prefix and method, each admitting signed-in users by e-mail, domain, group and upstream, or
 * anyone (`allow: public`), or anyone from some networks (`trusted_networks`).
 *
 * Which rule decides (docs/ACCESS-RULES.md says the same to operators): among the rules whose host
 * matches the request's and whose path is a prefix of its path (at a segment boundary) and whose
 * methods, if any, include its method, the one with the longest path; on a tie the one with the
 * more specific host (an exact host beats `.example.com`, a longer suffix a shorter one); then one
 * that names methods over one that does not. A `public` rule applies only to a request whose URI
 * is in normal form (request-path.ts): any other spelling falls to the next rule, so an escape can
 * only make a request stricter. No rule: every signed-in user.
 *
 * The rule that decides admits a signed-in user who matches one of its e-mails, domains or groups,
 * and, when it names `allowed_upstreams`, signed in through one of them; a rule naming none of
 * these admits nobody but the networks it trusts. A machine caller (a client credentials token)
 * is admitted only by name, in a rule's `allowed_clients`. Rules that read the path or method are answered
 * only when the trusted proxy says them (X-Original-URI, X-Original-Method); without, the check
 * refuses (403) rather than guess.
 */
import { BlockList, isIP } from 'node:net';
import type { HostRule } from '../../config/forward-auth-parsers.ts';
import { BoundedCache } from '../web/bounded-cache.ts';
import { hostMatches, parseDomainPattern } from '../web/domain-match.ts';
import { type RequestPath, requestPath, underPrefix } from './request-path.ts';

export interface Identity {
  email?: string | undefined;
  groups?: readonly string[] | undefined;
  /** The id of the upstream the session signed in through (the access token's `amr`). */
  upstream?: string | undefined;
  /**
   * A machine caller (a client credentials token): its client_id. It is no user: only a rule's
   * `allowed_clients` admits it, never a host without rules or a user's lists.
   */
  client?: string | undefined;
}

/** The protected request, as the trusted proxy describes it. */
export interface RequestTarget {
  host: string;
  /** X-Original-URI (path and query); undefined when the proxy did not send it. */
  uri?: string | undefined;
  /** X-Original-Method; undefined when the proxy did not send it. */
  method?: string | undefined;
  /** The client's address (from the trusted proxy's X-Forwarded-For). */
  ip: string;
}

export type Decision =
  /** No sign-in needed: a public path, or a trusted network. */
  | { kind: 'open' }
  /** A signed-in user this admits. */
  | { kind: 'signed-in'; allows(identity: Identity): boolean }
  /** Cannot be decided (the proxy did not say the path or method a rule needs): refuse. */
  | { kind: 'refuse'; problem: string };

export interface HostPolicy {
  /** True when some rule reads the path or method: a cached answer must then key on them. */
  readonly readsTarget: boolean;
  /** True when `host`'s answer depends on more than the host and the user (path, method, address). */
  readsTargetAt(host: string): boolean;
  decide(target: RequestTarget): Decision;
  /** The decision with the rule that made it (its index in the settings), for `rules explain`. */
  explain(target: RequestTarget): { decision: Decision; rule: { index: number; rule: HostRule } | undefined };
  /** The decision for a signed-in user at `hostname`'s root (rules without paths). */
  allows(hostname: string, identity: Identity): boolean;
}

interface CompiledRule {
  rule: HostRule;
  /** Its place in the settings (0-based). */
  index: number;
  pattern: ReturnType<typeof parseDomainPattern>;
  hostWeight: number;
  path: string;
  methods: ReadonlySet<string> | undefined;
  networks: BlockList | undefined;
  /** It opens nothing (not public, no trusted networks): it also covers its path's format suffixes. */
  restricts: boolean;
  /** Its decision for a signed-in user, made once (the check runs on every request). */
  signedIn: Decision;
}

/** What one host's rules need from a request, found once per host. */
interface HostRules {
  rules: CompiledRule[];
  readsPath: boolean;
  readsMethod: boolean;
  /** Its answer depends on more than the host and the user (path, method, address). */
  readsTarget: boolean;
}

/** No rule: every signed-in user, and no machine (machines are admitted by name only). */
const EVERY_SIGNED_IN: Decision = { kind: 'signed-in', allows: (identity) => identity.client === undefined };
const OPEN: Decision = { kind: 'open' };

function hostWeight(host: string): number {
  // exact hosts first, then longer suffixes
  return host.startsWith('.') ? host.length : 10_000 + host.length;
}

function networksOf(cidrs: readonly string[] | undefined): BlockList | undefined {
  if (!cidrs?.length) return undefined;
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', bits] = cidr.split('/');
    const type = isIP(address) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(address, bits === undefined ? (type === 'ipv6' ? 128 : 32) : Number(bits), type);
  }
  return list;
}

/** The rule's own test of a signed-in user. */
function admits(rule: HostRule, identity: Identity): boolean {
  if (identity.client !== undefined) return rule.allowed_clients?.includes(identity.client) === true;
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
}

/** A rule's methods; GET includes HEAD, which every framework answers with the GET handler. */
function methodSet(methods: readonly string[]): ReadonlySet<string> {
  const set = new Set(methods.map((m) => m.toUpperCase()));
  if (set.has('GET')) set.add('HEAD');
  return set;
}

const readsPath = (rule: CompiledRule) => rule.path !== '/' || rule.rule.allow === 'public';
const readsTargetOf = (c: CompiledRule) => readsPath(c) || c.methods !== undefined || c.networks !== undefined;

export function createHostPolicy(rules: readonly HostRule[]): HostPolicy {
  const compiled: CompiledRule[] = rules
    .map((rule, index) => ({
      rule,
      index,
      pattern: parseDomainPattern(rule.host),
      hostWeight: hostWeight(rule.host),
      path: requestPath(rule.path ?? '/').path,
      methods: rule.methods ? methodSet(rule.methods) : undefined,
      networks: networksOf(rule.trusted_networks),
      restricts: rule.allow !== 'public' && rule.trusted_networks === undefined,
      signedIn: { kind: 'signed-in', allows: (identity: Identity) => admits(rule, identity) } as Decision,
    }))
    .sort(
      (a, b) =>
        b.path.length - a.path.length || b.hostWeight - a.hostWeight || Number(!!b.methods) - Number(!!a.methods),
    );
  // The rules of each host, in order, and what they read, found once per host (a few hosts,
  // asked on every request).
  const byHost = new BoundedCache<HostRules>(1_000);
  const rulesFor = (host: string): HostRules => {
    let found = byHost.get(host);
    if (!found) {
      const rules = compiled.filter(({ pattern }) => hostMatches({ ...pattern, port: undefined }, host, ''));
      found = {
        rules,
        readsPath: rules.some(readsPath),
        readsMethod: rules.some((c) => c.methods !== undefined),
        readsTarget: rules.some(readsTargetOf),
      };
      byHost.set(host, found, Number.MAX_SAFE_INTEGER);
    }
    return found;
  };

  // The reading of each URI, kept: nginx asks about the same pages over and over, and a hostile
  // stream of new ones only churns this bounded cache (at most 5,000 URIs of 256 characters).
  const readings = new BoundedCache<RequestPath>(5_000);
  const readPath = (uri: string | undefined) => {
    if (uri === undefined || uri.length > 256) return requestPath(uri);
    let found = readings.get(uri);
    if (!found) {
      found = requestPath(uri);
      readings.set(uri, found, Number.MAX_SAFE_INTEGER);
    }
    return found;
  };

  /** The decision, and the rule that made it (undefined: no rule, or the proxy did not say enough). */
  function judge(target: RequestTarget): { decision: Decision; by: CompiledRule | undefined } {
    const host = rulesFor(target.host);
    if (host.rules.length === 0) return { decision: EVERY_SIGNED_IN, by: undefined };
    const refuse = (problem: string) => ({ decision: { kind: 'refuse', problem } as Decision, by: undefined });
    if (target.uri === undefined && host.readsPath)
      return refuse('rules for this host read the path, and the proxy sent no X-Original-URI');
    if (target.method === undefined && host.readsMethod)
      return refuse('rules for this host read the method, and the proxy sent no X-Original-Method');
    const { path, canonical, readable } = readPath(target.uri);
    if (!readable && target.uri !== undefined && host.readsPath)
      return refuse('a request path that cannot be read (a dot segment, a broken escape, a NUL)');
    const { method } = target;
    // One method token, in capitals as HTTP methods are (they are case-sensitive: `delete` is not
    // DELETE to every app): `DELETE,GET` is two headers a proxy joined, not a method anyone routes.
    if (method !== undefined && host.readsMethod && !/^[A-Z]{1,16}$/.test(method))
      return refuse('a request method that cannot be read');
    for (const candidate of host.rules) {
      if (!underPrefix(path, candidate.path, candidate.restricts)) continue;
      if (candidate.methods && (method === undefined || !candidate.methods.has(method))) continue;
      const { rule } = candidate;
      if (rule.allow === 'public') {
        if (canonical) return { decision: OPEN, by: candidate };
        continue;
      }
      const family = isIP(target.ip);
      if (family !== 0 && candidate.networks?.check(target.ip, family === 6 ? 'ipv6' : 'ipv4'))
        return { decision: OPEN, by: candidate };
      return { decision: candidate.signedIn, by: candidate };
    }
    return { decision: EVERY_SIGNED_IN, by: undefined };
  }

  const decide = (target: RequestTarget) => judge(target).decision;

  return {
    readsTarget: compiled.some(readsTargetOf),
    readsTargetAt: (host) => rulesFor(host).readsTarget,
    decide,
    explain(target) {
      const { decision, by } = judge(target);
      return { decision, rule: by === undefined ? undefined : { index: by.index, rule: by.rule } };
    },
    allows(hostname, identity) {
      const decision = decide({ host: hostname, uri: '/', method: 'GET', ip: '' });
      return decision.kind === 'open' || (decision.kind === 'signed-in' && decision.allows(identity));
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
