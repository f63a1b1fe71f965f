/**
 * Parsers for the forward-auth policy settings. Both take JSON in the environment, or the same
 * structure natively in the config file (YAML or JSON).
 */
import { isIP } from 'node:net';
import { z } from 'zod';
import type { RawValue, Parsed } from './value-parsers.ts';

/** An address or a CIDR block, IPv4 or IPv6 (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`). */
function isCidr(text: string): boolean {
  const [address = '', bits, extra] = text.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 6 ? 128 : 32);
}

const hostRule = z
  .strictObject({
    host: z.string().min(1),
    /** A path prefix (at a segment boundary): `/flower` covers `/flower` and `/flower/…`. */
    path: z
      .string()
      .regex(/^\/[\x21-\x7e]{0,511}$/, 'a path starting with /, in plain ASCII, without spaces')
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
    trusted_networks: z.array(z.string().refine(isCidr, 'an IP address or CIDR block')).min(1).optional(),
    allowed_emails: z.array(z.string().min(3)).optional(),
    allowed_email_domains: z.array(z.string().min(1)).optional(),
    allowed_groups: z.array(z.string().min(1)).optional(),
    /** Upstream ids (GATEWAY_UPSTREAMS) a session must have signed in through, besides the rest. */
    allowed_upstreams: z.array(z.string().min(1)).min(1).optional(),
  })
  .refine(
    (rule) =>
      rule.allow !== 'public' ||
      (rule.allowed_emails ??
        rule.allowed_email_domains ??
        rule.allowed_groups ??
        rule.allowed_upstreams ??
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

export function parseHostRules(raw: RawValue): Parsed<HostRule[]> {
  return structured(
    raw,
    z.array(hostRule),
    'a list of {host, path?, methods?, allow? ("public"), api?, trusted_networks?, allowed_emails?, allowed_email_domains?, allowed_groups?, allowed_upstreams?}',
  );
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
