/**
 * Parsers for the forward-auth policy settings. Both take JSON in the environment, or the same
 * structure natively in the config file (YAML or JSON).
 */
import { z } from 'zod';
import type { RawValue, Parsed } from './value-parsers.ts';

const hostRule = z.strictObject({
  host: z.string().min(1),
  allowed_emails: z.array(z.string().min(3)).optional(),
  allowed_email_domains: z.array(z.string().min(1)).optional(),
  allowed_groups: z.array(z.string().min(1)).optional(),
  /** Upstream ids (GATEWAY_UPSTREAMS) a session must have signed in through, besides the rest. */
  allowed_upstreams: z.array(z.string().min(1)).min(1).optional(),
});

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
    'a list of {host, allowed_emails?, allowed_email_domains?, allowed_groups?, allowed_upstreams?}',
  );
}

/** Group name → member e-mail addresses. */
export function parseGroups(raw: RawValue): Parsed<Record<string, string[]>> {
  return structured(
    raw,
    z.record(z.string().min(1), z.array(z.string().min(3))),
    'an object of group name → list of e-mail addresses',
  );
}
