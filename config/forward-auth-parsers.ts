/**
 * Parsers for the forward-auth policy settings: JSON in the environment, or the same structure
 * natively in the config file (YAML or JSON), or the rules in a file of their own.
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import { isPublicSuffix } from './is-public-suffix.ts';
import { readStructuredFile } from './read-structured-file.ts';
import { isAddressRange, type Parsed, type ParsedList, type RawValue } from './value-parsers.ts';

/**
 * A path as the forward-auth check reads requests' paths (gateway/accounts/request-path.ts), in
 * the form it reads them into: no escape, no `.` or `..` segment, no doubled slash, no backslash,
 * no `;` parameter, no query or fragment. A rule in any other spelling would cover something else
 * than it says (`/static/../x` compiles to nothing readable, `/a%2Fb` reads as `/a/b`).
 */
function isNormalPath(path: string): boolean {
  if (/[%\\;?#]/.test(path)) return false;
  const segments = path.slice(1).split('/');
  if (segments.length > 1 && segments.at(-1) === '') segments.pop(); // a trailing slash
  return path === '/' || segments.every((segment) => segment !== '' && segment !== '.' && segment !== '..');
}

/** A block no wider than /8 (IPv4) or /7 (IPv6): a wider one is most of the Internet. */
function isNarrowEnough(cidr: string): boolean {
  const [address = '', bits] = cidr.split('/');
  if (bits === undefined) return true;
  return Number(bits) >= (isIP(address) === 6 ? 7 : 8);
}

const HOST_NAME = /^\.?[a-z0-9_-]+(?:\.[a-z0-9_-]+)*$/i;
const DOMAIN = /^[a-z0-9-]+(?:\.[a-z0-9-]+)+$/i;

const hostRule = z
  .strictObject({
    host: z
      .string()
      .regex(HOST_NAME, 'a host name (app.example.com) or a suffix (.example.com): no *, port or scheme')
      .refine(
        (host) => !host.startsWith('.') || !isPublicSuffix(host.slice(1)),
        'a suffix below a public suffix (.example.com, not .com)',
      ),
    /** A path prefix (at a segment boundary): `/flower` covers `/flower` and `/flower/…`. */
    path: z
      .string()
      .regex(/^\/[\x21-\x7e]{0,511}$/, 'a path starting with /, in plain ASCII, without spaces')
      // As the rules compare paths: a spelling they would read otherwise (`/static/../x` is
      // unreadable, `/a%2Fb` is `/a/b`) would make the rule cover something else than it says.
      .refine(
        isNormalPath,
        'a path in normal form: no ?, #, %-escapes, . or .. segments, doubled slashes, backslashes or ;',
      )
      .optional(),
    /** Methods the rule applies to (`GET`, `POST`, …); absent: all. */
    methods: z
      .array(z.string().regex(/^[A-Za-z]{1,16}$/, 'an HTTP method'))
      .min(1)
      .optional(),
    /** No sign-in needed on this path. */
    allow: z.literal('public').optional(),
    /** An API: a caller not signed in gets a JSON 401, never a redirect to sign in. */
    api: z.boolean().optional(),
    /** Requests from these networks pass without sign-in (the address the trusted proxy forwards). */
    trusted_networks: z
      .array(
        z
          .string()
          .refine(isAddressRange, 'an IP address or CIDR block')
          .refine(isNarrowEnough, 'a block no wider than /8 (IPv6: /7); for everyone, use allow: public'),
      )
      .min(1)
      .optional(),
    allowed_emails: z
      .array(z.string().regex(/^[^@\s]+@[^@\s]+$/, 'an e-mail address'))
      .min(1)
      .optional(),
    allowed_email_domains: z.array(z.string().regex(DOMAIN, 'a domain (example.com): no @ or *')).min(1).optional(),
    allowed_groups: z.array(z.string().min(1)).min(1).optional(),
    /** Upstream ids (GATEWAY_UPSTREAMS) a session must have signed in through, besides the rest. */
    allowed_upstreams: z.array(z.string().min(1)).min(1).optional(),
    /** Machine clients (client credentials tokens, by client_id) admitted besides users. */
    allowed_clients: z.array(z.string().min(1)).min(1).optional(),
  })
  .refine(
    (rule) =>
      rule.allow !== 'public' ||
      (rule.allowed_emails ??
        rule.allowed_email_domains ??
        rule.allowed_groups ??
        rule.allowed_upstreams ??
        rule.allowed_clients ??
        rule.trusted_networks) === undefined,
    'a public rule admits everyone: it takes no allowed_* lists or trusted_networks',
  );

/** Who may pass forward auth for one host (`app.example.com`, or `.example.com` for all below it). */
export type HostRule = z.infer<typeof hostRule>;

function structured<T>(raw: RawValue, schema: z.ZodType<T>, shape: string): Parsed<T> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { problem: `must be JSON: ${shape}`, got: 'text that is not JSON' };
    }
  }
  const result = schema.safeParse(value);
  if (result.success) return { value: result.data };
  const issue = result.error.issues[0];
  const where = issue?.path.length ? ` at ${issue.path.join('.')}` : '';
  return { problem: `must be ${shape} (${issue?.message ?? 'invalid'}${where})`, got: 'an invalid value' };
}

const RULES_SHAPE =
  'a list of {host, path?, methods?, allow? ("public"), api?, trusted_networks?, allowed_emails?, allowed_email_domains?, allowed_groups?, allowed_upstreams?, allowed_clients?}';

/** The rules of GATEWAY_HOST_RULES: JSON in the environment, the same structure in the config file. */
export function parseHostRules(raw: RawValue): ParsedList<HostRule[]> {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      return { problem: `must be JSON: ${RULES_SHAPE}`, got: 'text that is not JSON' };
    }
  }
  return parseRuleList(value, '');
}

/**
 * The rules of GATEWAY_RULES_FILE: a YAML or JSON file holding `rules:` (a list as in
 * GATEWAY_HOST_RULES), or the list alone. Read once at start; every problem is a line of its own.
 */
export function parseRulesFile(raw: RawValue): ParsedList<{ file: string; rules: HostRule[] }> {
  if (typeof raw !== 'string') return { problem: 'must be the path of a YAML or JSON file' };
  const read = readStructuredFile(raw);
  if ('problem' in read) return { problems: [read.problem] };
  const { data } = read;
  const list = isMapping(data) ? data['rules'] : data;
  if (isMapping(data)) {
    const unknown = Object.keys(data).filter((key) => key !== 'rules');
    if (unknown.length > 0)
      return { problems: [`${raw}: unknown key ${unknown.join(', ')} (the file holds rules: and nothing else)`] };
  }
  const parsed = parseRuleList(list, `${raw}: `);
  return 'value' in parsed ? { value: { file: raw, rules: parsed.value } } : parsed;
}

const isMapping = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Every problem of every rule, each naming the rule by its place (and host, where readable). */
function parseRuleList(value: unknown, where: string): ParsedList<HostRule[]> {
  if (!Array.isArray(value)) return { problem: `${where}must be ${RULES_SHAPE}`, got: 'something else' };
  const rules: HostRule[] = [];
  const problems: string[] = [];
  value.forEach((item: unknown, index) => {
    const result = hostRule.safeParse(item);
    if (result.success) {
      rules.push(result.data);
      return;
    }
    const host = isMapping(item) && typeof item['host'] === 'string' ? ` (${item['host'].slice(0, 100)})` : '';
    for (const issue of result.error.issues) {
      const what =
        issue.code === 'unrecognized_keys'
          ? `unknown key ${issue.keys.join(', ')}`
          : `${issue.path.length ? `${issue.path.join('.')}: ` : ''}${issue.message}`;
      problems.push(`${where}rule ${index + 1}${host}: ${what}`);
    }
  });
  return problems.length > 0 ? { problems } : { value: rules };
}

/** Group name → member e-mail addresses. */
export function parseGroups(raw: RawValue): Parsed<Record<string, string[]>> {
  return structured(
    raw,
    // `:` is the upstreams' (`gitlab:acme`), `,` and spaces X-Auth-Request-Groups' separators.
    z.record(z.string().regex(/^[^:,\s]+$/, 'a group name without ":", "," or spaces'), z.array(z.string().min(3))),
    'an object of group name → list of e-mail addresses',
  );
}
