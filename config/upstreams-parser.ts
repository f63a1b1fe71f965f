/**
 * `GATEWAY_UPSTREAMS`: several identity providers at once, each chosen at sign-in. A list, as
 * JSON or YAML in the environment or natively in the config file:
 *
 *   - { id: staff, type: google, name: "Staff (Google)", client_id: …, client_secret: …,
 *       hosted_domains: [example.com] }
 *   - { id: partners, type: oidc, name: Partners, issuer: https://login.partner.example, … }
 *
 * `id` is the operator's slug: it names the callback (`/upstream/<id>/callback`), the
 * `upstream=<id>` parameter and the upstream in logs. The types built so far are those found by
 * OpenID Connect discovery (`google`, `oidc`) and GitHub (OAuth 2.0 and its REST API, `github`);
 * the others of issue #16 are refused by name, never taken for a generic OpenID Provider.
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { UpstreamConfig } from './config-type.ts';
import { parseUpstreamIssuer } from './url-parsers.ts';
import type { Parsed, RawValue } from './value-parsers.ts';

const GOOGLE_ISSUER = 'https://accounts.google.com';
const DEFAULT_SCOPES = ['openid', 'email', 'profile'];
/** Types known but not built yet: refused with a clear line rather than treated as `oidc`. */
const NOT_YET = ['microsoft', 'gitlab', 'kakao', 'naver'];
const GITHUB = 'https://github.com';
/** GitHub has no OpenID Connect: its scopes for the profile and the verified addresses. */
const GITHUB_SCOPES = ['read:user', 'user:email'];

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
  scopes: z.union([z.string(), z.array(z.string().min(1))]).optional(),
  hosted_domains: z.array(z.string().min(1)).optional(),
  allowed_email_domains: z.array(z.string().min(1)).optional(),
});

type Entry = z.infer<typeof entry>;

const SHAPE =
  'a list of {id, type (google, oidc or github), name?, client_id, client_secret, issuer? (oidc: required), base_url? (github), scopes?, hosted_domains? (google), allowed_email_domains?}';

/** The redirect URI path of an upstream named by `GATEWAY_UPSTREAMS`. */
export const upstreamCallbackPath = (id: string) => `/upstream/${id}/callback`;

function toUpstream(raw: Entry, index: number): Parsed<UpstreamConfig> {
  const at = `entry ${index + 1} (${raw.id})`;
  if (NOT_YET.includes(raw.type))
    return { problem: `${at}: type ${raw.type} is not supported yet (supported: google, oidc, github)` };
  if (raw.type !== 'google' && raw.type !== 'oidc' && raw.type !== 'github')
    return { problem: `${at}: type must be google, oidc or github, not ${JSON.stringify(raw.type)}` };
  const github = raw.type === 'github';
  if (raw.type === 'oidc' && raw.issuer === undefined) return { problem: `${at}: an oidc upstream needs its issuer` };
  if (raw.type !== 'google' && raw.hosted_domains !== undefined)
    return { problem: `${at}: hosted_domains is Google's \`hd\` claim; only a google upstream takes it` };
  if (github && raw.issuer !== undefined)
    return { problem: `${at}: GitHub has no OpenID issuer; give base_url for a GitHub Enterprise Server` };
  if (!github && raw.base_url !== undefined) return { problem: `${at}: base_url is for a github upstream` };
  // A GitHub's web origin stands where an issuer would: the namespace of its users' ids.
  const issuer = parseUpstreamIssuer(github ? (raw.base_url ?? GITHUB) : (raw.issuer ?? GOOGLE_ISSUER));
  if (!('value' in issuer)) return { problem: `${at}: ${github ? 'base_url' : 'issuer'} ${issuer.problem}` };
  const scopes =
    raw.scopes === undefined
      ? [...(github ? GITHUB_SCOPES : DEFAULT_SCOPES)]
      : typeof raw.scopes === 'string'
        ? raw.scopes.split(/[\s,]+/).filter(Boolean)
        : raw.scopes;
  if (!github && !scopes.includes('openid')) return { problem: `${at}: scopes must include openid` };
  const lower = (domains: string[] | undefined) => (domains ?? []).map((d) => d.toLowerCase());
  return {
    value: {
      id: raw.id,
      type: raw.type,
      name: raw.name ?? (raw.type === 'google' ? 'Google' : github ? 'GitHub' : raw.id),
      issuer: issuer.value,
      clientId: raw.client_id,
      clientSecret: raw.client_secret,
      scopes,
      hostedDomains: lower(raw.hosted_domains),
      allowedEmailDomains: lower(raw.allowed_email_domains),
      callbackPath: upstreamCallbackPath(raw.id),
    },
  };
}

export function parseUpstreams(raw: RawValue): Parsed<UpstreamConfig[]> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = parseYaml(raw);
    } catch {
      return { problem: `must be JSON or YAML: ${SHAPE}`, got: 'text that is neither' };
    }
  }
  const parsed = z.array(entry).min(1, 'at least one upstream').safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
    return { problem: `must be ${SHAPE} (${issue?.message ?? 'invalid'}${where})`, got: 'an invalid value' };
  }
  const upstreams: UpstreamConfig[] = [];
  for (const [index, raw] of parsed.data.entries()) {
    const upstream = toUpstream(raw, index);
    if (!('value' in upstream)) return upstream;
    if (upstreams.some((u) => u.id === upstream.value.id))
      return { problem: `entry ${index + 1}: the id ${upstream.value.id} is used twice` };
    upstreams.push(upstream.value);
  }
  return { value: upstreams };
}
