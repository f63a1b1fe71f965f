/**
 * `GATEWAY_UPSTREAMS`: several identity providers at once, each chosen at sign-in. A list, as
 * JSON or YAML in the environment or natively in the config file:
 *
 *   - { id: staff, type: google, name: "Staff (Google)", client_id: …, client_secret: …,
 *       hosted_domains: [example.com] }
 *   - { id: partners, type: oidc, name: Partners, issuer: https://login.partner.example, … }
 *
 * `id` is the operator's slug: it names the callback (`/upstream/<id>/callback`), the
 * `upstream=<id>` parameter and the upstream in logs. `type` says how to speak to it: OpenID
 * Connect with discovery (`google`, `oidc`, `gitlab`, `kakao`, and `microsoft` with its per-tenant
 * issuers), or OAuth 2.0 and the provider's own profile API (`github`, `naver`). A setting that
 * belongs to another type is refused, never ignored (a `hosted_domains` on a GitHub upstream
 * would otherwise admit everyone the operator meant to keep out).
 */
import { z } from 'zod';
import type { UpstreamConfig } from './config-type.ts';
import { parseUpstreamIssuer } from './url-parsers.ts';
import type { Parsed, RawValue } from './value-parsers.ts';
import { loadYaml } from './load-on-first-use.ts';

const DEFAULT_SCOPES = ['openid', 'email', 'profile'];
/** Microsoft's tenant of personal accounts (outlook.com, live.com): its `tid` in every token. */
export const MICROSOFT_CONSUMERS_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** A domain as the rules compare it: no `@`, no wildcard (each rule names domains exactly). */
const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i;
/** GitHub's logins: letters, digits and single dashes. */
const GITHUB_LOGIN = /^[a-z0-9](?:[a-z0-9-]{0,38})$/i;

const scopesOf = (scopes: string | readonly string[]): string[] =>
  typeof scopes === 'string' ? scopes.split(/[\s,]+/).filter(Boolean) : [...scopes];

/**
 * What each type is: where it lives unless told (`issuer`, or `base_url` for the providers without
 * OpenID Connect), its scopes by default, and which of the type-specific settings it takes.
 */
const TYPES = {
  google: { origin: 'https://accounts.google.com', scopes: DEFAULT_SCOPES, oidc: true },
  oidc: { origin: undefined, scopes: DEFAULT_SCOPES, oidc: true },
  // Entra ID: the origin is the authority (base_url: national clouds have their own); the tenant
  // is apart; offline_access is how Entra gives a refresh token, User.Read lets Graph's /me
  // confirm the user at each re-check.
  microsoft: {
    origin: 'https://login.microsoftonline.com',
    scopes: [...DEFAULT_SCOPES, 'offline_access', 'User.Read'],
    oidc: true,
  },
  gitlab: { origin: 'https://gitlab.com', scopes: DEFAULT_SCOPES, oidc: true },
  // Kakao asks the user for each item it releases (the consent items are the scopes).
  kakao: {
    origin: 'https://kauth.kakao.com',
    scopes: ['openid', 'profile_nickname', 'profile_image', 'account_email'],
    oidc: true,
  },
  // GitHub and Naver have no OpenID Connect: their web origin stands where an issuer would.
  github: { origin: 'https://github.com', scopes: ['read:user', 'user:email'], oidc: false },
  // Naver takes no scope parameter: what it releases is chosen in its developer console.
  naver: { origin: 'https://nid.naver.com', scopes: [], oidc: false },
} as const;
type UpstreamType = keyof typeof TYPES;
const TYPE_NAMES = Object.keys(TYPES).join(', ');

/** Settings only some types take, with the types that do. */
const ONLY_FOR: Record<string, readonly UpstreamType[]> = {
  hosted_domains: ['google'],
  tenant: ['microsoft'],
  allowed_tenants: ['microsoft'],
  graph_url: ['microsoft'],
  allowed_orgs: ['github'],
  allowed_groups: ['gitlab'],
  groups_claim: ['oidc', 'gitlab', 'google'],
  groups: ['github', 'microsoft', 'google'],
  service_account_file: ['google'],
  admin_email: ['google'],
  directory_url: ['google'],
  nested_groups: ['google'],
  base_url: ['github', 'naver', 'microsoft'],
  api_url: ['naver'],
  issuer: ['google', 'oidc', 'gitlab', 'kakao'],
};

const entry = z.strictObject({
  id: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,31}$/, 'a slug: lower-case letters, digits and dashes, at most 32 characters'),
  type: z.string(),
  name: z.string().min(1).max(60).optional(),
  client_id: z.string().min(1),
  client_secret: z.string().min(1),
  issuer: z.string().optional(),
  base_url: z.string().optional(),
  api_url: z.string().optional(),
  graph_url: z.string().optional(),
  tenant: z.string().optional(),
  scopes: z.union([z.string(), z.array(z.string().min(1))]).optional(),
  hosted_domains: z.array(z.string().min(1)).optional(),
  allowed_email_domains: z.array(z.string().min(1)).optional(),
  allowed_tenants: z.array(z.string().min(1)).optional(),
  allowed_orgs: z.array(z.string().min(1)).optional(),
  allowed_groups: z.array(z.string().min(1)).optional(),
  groups_claim: z
    .string()
    .regex(/^[A-Za-z0-9_.:/-]{1,64}$/, 'a claim name')
    .optional(),
  groups: z.boolean().optional(),
  service_account_file: z.string().min(1).optional(),
  admin_email: z.string().email().optional(),
  directory_url: z.string().optional(),
  nested_groups: z.boolean().optional(),
});

type Entry = z.infer<typeof entry>;

const SHAPE = `a list of {id, type (${TYPE_NAMES}), name?, client_id, client_secret, issuer?, scopes?, allowed_email_domains?, and per type: hosted_domains, groups_claim, groups, service_account_file, admin_email, nested_groups (google), groups_claim (oidc), tenant, allowed_tenants, base_url, graph_url (microsoft), allowed_orgs, groups, base_url (github), groups (microsoft), allowed_groups, groups_claim (gitlab), base_url, api_url (naver)}`;

/** The redirect URI path of an upstream named by `GATEWAY_UPSTREAMS`. */
export const upstreamCallbackPath = (id: string) => `/upstream/${id}/callback`;

const DISPLAY_NAMES: Record<UpstreamType, string | undefined> = {
  google: 'Google',
  oidc: undefined,
  microsoft: 'Microsoft',
  gitlab: 'GitLab',
  kakao: 'Kakao',
  github: 'GitHub',
  naver: 'NAVER',
};

/**
 * Entra ID's tenant and the tenants whose users may sign in. A single tenant (its GUID) admits
 * its own users; `organizations` and `common` admit any work account, so the operator must list
 * the tenants (their issuers differ per tenant, and accepting any would let anyone with a free
 * tenant in); `consumers` admits personal accounts only.
 */
function microsoftTenants(raw: Entry, at: string): Parsed<{ tenant: string; allowed: string[] }> {
  const tenant = (raw.tenant ?? 'organizations').toLowerCase();
  const allowed = (raw.allowed_tenants ?? []).map((t) => t.toLowerCase());
  const wrong = allowed.find((t) => !GUID.test(t));
  if (wrong !== undefined)
    return {
      problem: `${at}: allowed_tenants takes tenant ids (GUIDs, the Directory ID), not ${JSON.stringify(wrong)}`,
    };
  if (GUID.test(tenant)) {
    if (allowed.some((t) => t !== tenant))
      return {
        problem: `${at}: a single-tenant upstream admits its tenant only; list others with tenant: organizations`,
      };
    return { value: { tenant, allowed: [tenant] } };
  }
  if (tenant === 'consumers') {
    if (allowed.some((t) => t !== MICROSOFT_CONSUMERS_TENANT))
      return {
        problem: `${at}: tenant consumers admits personal accounts only; list work tenants with tenant: common`,
      };
    return { value: { tenant, allowed: [MICROSOFT_CONSUMERS_TENANT] } };
  }
  if (tenant !== 'organizations' && tenant !== 'common')
    return {
      problem: `${at}: tenant must be a tenant id (GUID), organizations, common or consumers, not ${JSON.stringify(raw.tenant)}`,
    };
  if (allowed.length === 0)
    return {
      problem: `${at}: tenant ${tenant} admits any Microsoft tenant: list the tenants whose users may sign in in allowed_tenants`,
    };
  return { value: { tenant, allowed } };
}

/** A google upstream's Directory settings (for `groups: true`). */
function googleDirectory(raw: Entry, at: string): Parsed<NonNullable<UpstreamConfig['googleDirectory']>> {
  if (raw.service_account_file === undefined || raw.admin_email === undefined)
    return {
      problem: `${at}: groups on a google upstream reads the Directory API: give service_account_file (a key with domain-wide delegation) and admin_email (an admin it acts as)`,
    };
  const url = parseUpstreamIssuer(raw.directory_url ?? 'https://admin.googleapis.com');
  if (!('value' in url)) return { problem: `${at}: directory_url ${url.problem}` };
  return {
    value: {
      serviceAccountFile: raw.service_account_file,
      adminEmail: raw.admin_email,
      directoryUrl: url.value,
      nested: raw.nested_groups === true,
    },
  };
}

function toUpstream(raw: Entry, index: number): Parsed<UpstreamConfig> {
  const at = `entry ${index + 1} (${raw.id})`;
  if (!Object.hasOwn(TYPES, raw.type))
    return { problem: `${at}: type must be one of ${TYPE_NAMES}, not ${JSON.stringify(raw.type)}` };
  const type = raw.type as UpstreamType;
  const kind = TYPES[type];
  for (const [setting, types] of Object.entries(ONLY_FOR)) {
    if (raw[setting as keyof Entry] !== undefined && !types.includes(type))
      return { problem: `${at}: ${setting} is not a setting of a ${type} upstream (only of ${types.join(', ')})` };
  }
  if (type === 'oidc' && raw.issuer === undefined) return { problem: `${at}: an oidc upstream needs its issuer` };
  // Microsoft's issuers are per tenant: what is configured is the authority, by base_url.
  const where = ONLY_FOR['issuer']?.includes(type) ? 'issuer' : 'base_url';
  const origin = parseUpstreamIssuer((where === 'issuer' ? raw.issuer : raw.base_url) ?? kind.origin ?? '');
  if (!('value' in origin)) return { problem: `${at}: ${where} ${origin.problem}` };
  const urls: { apiUrl?: string } = {};
  const api = type === 'microsoft' ? raw.graph_url : type === 'naver' ? raw.api_url : undefined;
  if (api !== undefined) {
    const parsed = parseUpstreamIssuer(api);
    if (!('value' in parsed))
      return { problem: `${at}: ${type === 'microsoft' ? 'graph_url' : 'api_url'} ${parsed.problem}` };
    urls.apiUrl = parsed.value;
  }
  const tenants = type === 'microsoft' ? microsoftTenants(raw, at) : { value: undefined };
  if (!('value' in tenants)) return tenants;
  const allowedOrgs = raw.allowed_orgs ?? [];
  const badOrg = allowedOrgs.find((org) => !GITHUB_LOGIN.test(org));
  if (badOrg !== undefined)
    return { problem: `${at}: allowed_orgs takes organization logins (acme-corp), not ${JSON.stringify(badOrg)}` };
  for (const [setting, domains] of [
    ['allowed_email_domains', raw.allowed_email_domains],
    ['hosted_domains', raw.hosted_domains],
  ] as const) {
    const bad = (domains ?? []).find((domain) => !DOMAIN.test(domain));
    if (bad !== undefined)
      return { problem: `${at}: ${setting} takes domains (corp.example), not ${JSON.stringify(bad)}` };
  }
  if (raw.scopes !== undefined && allowedOrgs.length > 0 && !scopesOf(raw.scopes).includes('read:org'))
    return { problem: `${at}: allowed_orgs needs the read:org scope (private memberships are not listed without it)` };
  let scopes: string[] = raw.scopes === undefined ? [...kind.scopes] : scopesOf(raw.scopes);
  // Private memberships (and teams) are listed only with read:org.
  if (type === 'github' && raw.scopes === undefined && (allowedOrgs.length > 0 || raw.groups === true))
    scopes = [...scopes, 'read:org'];
  if (type === 'github' && raw.scopes !== undefined && raw.groups === true && !scopes.includes('read:org'))
    return { problem: `${at}: groups needs the read:org scope (teams are not listed without it)` };
  // Google's groups come from the Directory API, read by a service account acting as an admin.
  const directory = type === 'google' && raw.groups === true ? googleDirectory(raw, at) : { value: undefined };
  if (!('value' in directory)) return directory;
  if (raw.nested_groups !== undefined && directory.value === undefined)
    return { problem: `${at}: nested_groups reads the Directory API: it takes groups: true` };
  // GitLab releases its groups in the `groups` claim; elsewhere the operator names the claim.
  const groupsClaim = raw.groups_claim ?? (type === 'gitlab' ? 'groups' : undefined);
  if (kind.oidc && !scopes.includes('openid')) return { problem: `${at}: scopes must include openid` };
  const lower = (values: string[] | undefined) => (values ?? []).map((d) => d.toLowerCase());
  return {
    value: {
      id: raw.id,
      type,
      name: raw.name ?? DISPLAY_NAMES[type] ?? raw.id,
      issuer: origin.value,
      clientId: raw.client_id,
      clientSecret: raw.client_secret,
      scopes,
      hostedDomains: lower(raw.hosted_domains),
      allowedEmailDomains: lower(raw.allowed_email_domains),
      callbackPath: upstreamCallbackPath(raw.id),
      ...(tenants.value === undefined ? {} : { tenant: tenants.value.tenant, allowedTenants: tenants.value.allowed }),
      ...(allowedOrgs.length > 0 ? { allowedOrgs: lower(allowedOrgs) } : {}),
      ...(raw.allowed_groups?.length ? { allowedGroups: lower(raw.allowed_groups) } : {}),
      ...(groupsClaim === undefined ? {} : { groupsClaim }),
      ...(raw.groups === true ? { apiGroups: true } : {}),
      ...(directory.value === undefined ? {} : { googleDirectory: directory.value }),
      ...urls,
    },
  };
}

export function parseUpstreams(raw: RawValue): Parsed<UpstreamConfig[]> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = loadYaml().parse(raw);
    } catch {
      return { problem: `must be JSON or YAML: ${SHAPE}`, got: 'text that is neither' };
    }
  }
  const parsed = z.array(entry).min(1, 'at least one upstream').safeParse(value);
  if (!parsed.success) {
    // Every issue (up to ten), each with where it is: a list is fixed in one run, not ten.
    const issues = parsed.error.issues.map((issue) => {
      const where = issue.path.length ? ` at ${issue.path.join('.')}` : '';
      return `${issue.message}${where}`;
    });
    const more = issues.length > 10 ? `; and ${issues.length - 10} more` : '';
    return { problem: `must be ${SHAPE} (${issues.slice(0, 10).join('; ')}${more})`, got: 'an invalid value' };
  }
  // Every entry's problem at once: an operator fixing a list of ten should not need ten runs.
  const upstreams: UpstreamConfig[] = [];
  const problems: string[] = [];
  for (const [index, raw] of parsed.data.entries()) {
    const upstream = toUpstream(raw, index);
    if (!('value' in upstream)) {
      problems.push(upstream.problem);
      continue;
    }
    const { id, issuer, clientId } = upstream.value;
    if (upstreams.some((u) => u.id === id)) problems.push(`entry ${index + 1}: the id ${id} is used twice`);
    // One registration twice would share its users' tokens under two names and two rule sets.
    const twin = upstreams.find((u) => u.issuer === issuer && u.clientId === clientId);
    if (twin !== undefined)
      problems.push(`entry ${index + 1} (${id}): the same issuer and client_id as ${twin.id}: one upstream, one entry`);
    upstreams.push(upstream.value);
  }
  if (problems.length > 0) {
    const more = problems.length > 10 ? `; and ${problems.length - 10} more` : '';
    return { problem: `${problems.slice(0, 10).join('; ')}${more}` };
  }
  return { value: upstreams };
}
