/**
 * `npx gateway rules explain`: the decision of the forward-auth check for one request, with the
 * rule that made it, from the same code the check runs (host-policy.ts), so an operator can try a
 * rule set before deploying it.
 */
import type { Config } from '../../config/config-type.ts';
import { createHostPolicy, groupsOf } from '../accounts/host-policy.ts';
import type { CliIo } from './cli-command.ts';
import { parseCommandArgs, UsageError } from './parse-command-args.ts';

/** Runs `rules explain` (its usage: rules-cli.ts) and returns the exit code. */
export async function runRulesExplain(args: string[], config: Config, io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(args, {
    host: { type: 'string' },
    path: { type: 'string', default: '/' },
    method: { type: 'string', default: 'GET' },
    ip: { type: 'string', default: '' },
    email: { type: 'string' },
    group: { type: 'string', multiple: true, default: [] },
    upstream: { type: 'string' },
  });
  const { host, path, method, ip, email, group, upstream } = parsed.values;
  if (!host) throw new UsageError('--host is required');
  const policy = createHostPolicy(config.hostRules);
  const { decision, rule } = policy.explain({ host: host.toLowerCase(), uri: path, method, ip });
  const which = rule
    ? `rule ${rule.index + 1} of GATEWAY_HOST_RULES: ${JSON.stringify(rule.rule)}`
    : 'no rule (every signed-in user passes)';
  io.stdout(`decided by: ${which}\n`);
  if (decision.kind === 'refuse') {
    io.stdout(`answer: refused (403): ${decision.problem}\n`);
    return 1;
  }
  if (decision.kind === 'open') {
    io.stdout('answer: passes without signing in\n');
    return 0;
  }
  if (email === undefined) {
    io.stdout('answer: sign in first (401)\n');
    return 1;
  }
  const groups = [...groupsOf(email, config.groups), ...(group ?? [])];
  const passes = decision.allows({ email, groups, upstream });
  io.stdout(
    `user: ${email}; groups: ${groups.join(', ') || 'none'}; upstream: ${upstream ?? 'not given'}\n` +
      `answer: ${passes ? 'passes (202)' : 'signed in, but not allowed (403)'}\n`,
  );
  return passes ? 0 : 1;
}
