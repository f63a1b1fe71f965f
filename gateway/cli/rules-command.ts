/**
 * `npx gateway rules explain`: the decision of the forward-auth check for one request, with the
 * rule that made it, from the same code the check runs (host-policy.ts), so an operator can try a
 * rule set before deploying it. The user is described on the command line (e-mail, groups,
 * upstream), or is a stored account (`--user`), with the groups its upstream last gave.
 */
import { isIP } from 'node:net';
import type { Store } from '../../adapters/store.ts';
import type { Config } from '../../config/config-type.ts';
import type { Account } from '../accounts/account.ts';
import { releasedGroups } from '../accounts/account-groups.ts';
import { findAccountBySub, findAccountByUsername, findAccountsByEmail } from '../accounts/account-store.ts';
import { createHostPolicy, groupsOf } from '../accounts/host-policy.ts';
import type { CliIo } from './cli-command.ts';
import { parseCommandArgs, UsageError } from './parse-command-args.ts';
import { withCliStore } from './with-cli-store.ts';

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
    user: { type: 'string' },
  });
  const { host, path, method, ip, email, group, upstream, user } = parsed.values;
  if (!host) throw new UsageError('--host is required');
  // As the live check takes them: a host in plain spelling, an address, group names without a comma.
  if (!/^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?$/i.test(host)) throw new UsageError('--host must be a plain host name');
  if (ip !== '' && isIP(ip) === 0) throw new UsageError('--ip must be an IP address');
  if (group?.some((name) => /[,\s]/.test(name)))
    throw new UsageError('--group takes one group name (no comma or space); repeat it');
  if (user !== undefined && (email !== undefined || group?.length || upstream !== undefined))
    throw new UsageError(
      '--user takes the e-mail, groups and upstream from the stored account: not with --email, --group or --upstream',
    );
  const policy = createHostPolicy(config.hostRules);
  const { decision, rule } = policy.explain({ host: host.toLowerCase(), uri: path, method: method?.toUpperCase(), ip });
  const which = rule
    ? `rule ${rule.index + 1} of ${config.hostRulesSource}: ${JSON.stringify(rule.rule)}`
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
  const who =
    user === undefined ? describedUser(email, group ?? [], upstream, config) : await storedUser(user, config, io);
  if (who === 'not signed in') {
    io.stdout('answer: sign in first (401)\n');
    return 1;
  }
  if (who === undefined) return 2;
  const passes = decision.allows(who);
  io.stdout(
    `user: ${who.email ?? 'no e-mail'}; groups: ${who.groups.join(', ') || 'none'}; upstream: ${who.upstream ?? 'not given'}\n` +
      `answer: ${passes ? 'passes (202)' : 'signed in, but not allowed (403)'}\n`,
  );
  return passes ? 0 : 1;
}

type Described = { email?: string | undefined; groups: string[]; upstream?: string | undefined };

/** The user as the command line describes them, with their GATEWAY_GROUPS groups. */
function describedUser(
  email: string | undefined,
  groups: string[],
  upstream: string | undefined,
  config: Config,
): Described | 'not signed in' {
  if (email === undefined) return 'not signed in';
  return { email, groups: [...groupsOf(email, config.groups), ...groups], upstream };
}

/** What the check would see of a stored account signed in through its own upstream. */
async function storedUser(user: string, config: Config, io: CliIo): Promise<Described | undefined> {
  let found: Described | undefined;
  await withCliStore(config, io, async (store) => {
    const account = await findStoredUser(store, user, io);
    if (account === undefined) return 2;
    io.stdout(`account: ${account.sub} (${account.preferred_username})\n`);
    found = {
      email: account.email,
      groups: releasedGroups(account, config.groups, account.upstream.id),
      upstream: account.upstream.id,
    };
    return 0;
  });
  return found;
}

/** The account `user` names: a sub, a user name, or an e-mail address that only one account has. */
async function findStoredUser(store: Store, user: string, io: CliIo): Promise<Account | undefined> {
  if (user.includes('@')) {
    const accounts = await findAccountsByEmail(store, user);
    if (accounts.length === 1) return accounts[0];
    io.stderr(
      accounts.length === 0
        ? `gateway: no account has signed in with ${user}; give its sub or user name\n`
        : `gateway: ${accounts.length} accounts have ${user} (${accounts.map((a) => a.sub).join(', ')}); give the sub\n`,
    );
    return undefined;
  }
  const account = (await findAccountBySub(store, user)) ?? (await findAccountByUsername(store, user));
  if (account === undefined) io.stderr(`gateway: no account with the sub or user name ${user}\n`);
  return account;
}
