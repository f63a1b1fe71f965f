/**
 * The operator's view of users, from the store the running gateways share:
 *
 * - `users find QUERY`: the accounts a sub, a user name, an e-mail address or an upstream
 *   identity (`<upstream id>:<its sub>`) names, each by an index (never a scan of the store);
 * - `users show SUB`: the account, its upstream, its groups, its sessions with their apps;
 * - `users disable SUB` / `users enable SUB`: a disabled account is refused at sign-in with a
 *   page that says so, and every session and grant it has ends at once on every instance (the
 *   one sign-out), so apps' refreshes get `invalid_grant`;
 * - `sessions list SUB` and `sessions end UID`.
 *
 * Every change is an audit event on stderr.
 */
import type { Store } from '../../adapters/store.ts';
import type { Config } from '../../config/config-type.ts';
import { findAccountBySub, listAccounts } from '../accounts/account-store.ts';
import {
  type AccountView,
  accountView as view,
  findUsers,
  sessionsOf as sessionsIn,
} from '../accounts/user-directory.ts';
import { loadStoreSealingFor } from '../keys/store-sealing.ts';
import { setDisabled } from '../sessions/disable-account.ts';
import { audit } from '../web/audit.ts';
import type { CliIo } from './cli-command.ts';
import { cliActor, cliLog } from './cli-log.ts';
import { createCliSignOut } from './cli-sign-out.ts';
import { formatTable } from './format-table.ts';
import { parseCommandArgs, UsageError } from './parse-command-args.ts';
import { noSuchAccount, withCliStore } from './with-cli-store.ts';

/** The account's sessions, read with the gateways' data key. */
async function sessionsOf(store: Store, config: Config, sub: string) {
  return sessionsIn(store, await loadStoreSealingFor(config, store), sub);
}

/** Accounts as `users list` and `users find` print them. */
function usersTable(users: readonly AccountView[]): string {
  return formatTable(
    ['SUB', 'USERNAME', 'EMAIL', 'UPSTREAM', 'LAST SEEN', 'DISABLED'],
    users.map((a) => [
      a.sub,
      a.preferred_username,
      a.email === undefined ? '-' : `${a.email}${a.email_verified ? '' : ' (unverified)'}`,
      a.upstream,
      a.last_sign_in_or_check ?? '-',
      a.disabled_at ?? 'no',
    ]),
  );
}

export async function runUsersList(args: string[], config: Config, io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(args, {
    json: { type: 'boolean', default: false },
    upstream: { type: 'string' },
    limit: { type: 'string', default: '50' },
    after: { type: 'string' },
  });
  const limit = Number(parsed.values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new UsageError('--limit must be 1 to 1000');
  const { after } = parsed.values;
  if (after !== undefined && !/^\d{1,3}\.\S*$/.test(after))
    throw new UsageError('--after takes the `next` of a previous page');
  const upstream = parsed.values.upstream;
  if (upstream !== undefined && !config.upstreams.some((u) => u.id === upstream)) {
    io.stderr(`gateway: no upstream with id ${JSON.stringify(upstream)}\n`);
    return 1;
  }
  return withCliStore(config, io, async (store) => {
    let page: Awaited<ReturnType<typeof listAccounts>>;
    try {
      page = await listAccounts(store, {
        limit,
        after: parsed.values.after,
        ...(upstream === undefined ? {} : { keep: (a: { upstream: { id?: string } }) => a.upstream.id === upstream }),
      });
    } catch (error) {
      if (error instanceof RangeError) throw new UsageError('--after takes the `next` of a previous page');
      throw error;
    }
    const users = page.accounts.map((account) => view(account, config.groups));
    if (parsed.values.json) {
      io.stdout(`${JSON.stringify({ users, next: page.next })}\n`);
      return 0;
    }
    io.stdout(users.length === 0 ? 'no accounts\n' : usersTable(users));
    if (page.next) io.stdout(`more: npx gateway users list --after ${page.next}\n`);
    return 0;
  });
}

export async function runUsersFind(args: string[], config: Config, io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(args, { json: { type: 'boolean', default: false } }, ['QUERY']);
  const query = parsed.positionals[0] ?? '';
  return withCliStore(config, io, async (store) => {
    const accounts = (await findUsers(store, query, config.upstreams)).map((account) => view(account, config.groups));
    if (parsed.values.json) io.stdout(`${JSON.stringify(accounts)}\n`);
    else if (accounts.length === 0) io.stdout('no account found\n');
    else io.stdout(usersTable(accounts));
    return accounts.length > 0 ? 0 : 1;
  });
}

export async function runUsersShow(args: string[], config: Config, io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(args, { json: { type: 'boolean', default: false } }, ['SUB']);
  const sub = parsed.positionals[0] ?? '';
  return withCliStore(config, io, async (store) => {
    const account = await findAccountBySub(store, sub);
    if (!account) return noSuchAccount(io, sub);
    const shown = { ...view(account, config.groups), sessions: await sessionsOf(store, config, sub) };
    if (parsed.values.json) {
      io.stdout(`${JSON.stringify(shown)}\n`);
      return 0;
    }
    const lines = Object.entries(shown)
      .filter(([key]) => key !== 'sessions')
      .map(
        ([key, value]) => `${`${key}:`.padEnd(24)} ${Array.isArray(value) ? value.join(', ') || '-' : (value ?? '-')}`,
      );
    lines.push(`${'sessions:'.padEnd(24)} ${shown.sessions.length}`);
    for (const session of shown.sessions)
      lines.push(`  ${session.uid}  signed in ${session.signed_in_at ?? '-'}  apps: ${session.apps.join(', ') || '-'}`);
    io.stdout(`${lines.join('\n')}\n`);
    return 0;
  });
}

/** `users disable SUB` and `users enable SUB`. */
export async function runUsersDisable(args: string[], config: Config, io: CliIo, disable: boolean): Promise<number> {
  const parsed = parseCommandArgs(args, { json: { type: 'boolean', default: false } }, ['SUB']);
  const sub = parsed.positionals[0] ?? '';
  return withCliStore(config, io, async (store) => {
    const log = cliLog(io, config.logLevel);
    const signOut = await createCliSignOut(config, store, { info() {}, warn: log.warn });
    const done = await setDisabled({ store, signOut, log }, sub, disable, cliActor());
    if (!done) return noSuchAccount(io, sub);
    io.stdout(
      parsed.values.json
        ? `${JSON.stringify(done)}\n`
        : disable
          ? `disabled ${sub}: ${done.sessions ?? 0} session(s) and ${done.grants ?? 0} grant(s) ended; sign-ins are refused until \`users enable\`\n`
          : `enabled ${sub}: the user may sign in again\n`,
    );
    return 0;
  });
}

export async function runSessionsList(args: string[], config: Config, io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(args, { json: { type: 'boolean', default: false } }, ['SUB']);
  const sub = parsed.positionals[0] ?? '';
  return withCliStore(config, io, async (store) => {
    if (!(await findAccountBySub(store, sub))) return noSuchAccount(io, sub);
    const sessions = await sessionsOf(store, config, sub);
    if (parsed.values.json) io.stdout(`${JSON.stringify(sessions)}\n`);
    else if (sessions.length === 0) io.stdout('no sessions\n');
    else
      io.stdout(
        formatTable(
          ['SESSION', 'SIGNED IN', 'APPS'],
          sessions.map((s) => [s.uid, s.signed_in_at ?? '-', s.apps.join(', ') || '-']),
        ),
      );
    return 0;
  });
}

export async function runSessionsEnd(args: string[], config: Config, io: CliIo): Promise<number> {
  // A session id is random base64url and may begin with `-`: it is never read as an option.
  const options = args.filter((arg) => arg.startsWith('--'));
  const ids = args.filter((arg) => !arg.startsWith('--'));
  const parsed = parseCommandArgs([...options, '--', ...ids], { json: { type: 'boolean', default: false } }, [
    'SESSION',
  ]);
  const uid = parsed.positionals[0] ?? '';
  return withCliStore(config, io, async (store) => {
    const log = cliLog(io, config.logLevel);
    const signOut = await createCliSignOut(config, store, { info() {}, warn: log.warn });
    const result = await signOut.endSession(uid);
    if (result.sub === undefined && result.sessions + result.grants + result.forwardAuthSessions === 0) {
      io.stderr(`gateway: no live session with id ${JSON.stringify(uid.slice(0, 80))}\n`);
      return 1;
    }
    audit(
      log,
      'session.ended',
      { ...result, session_uid: uid, actor: cliActor(), at: new Date().toISOString() },
      'an operator ended one session',
    );
    io.stdout(
      parsed.values.json
        ? `${JSON.stringify(result)}\n`
        : `ended session ${uid}: ${result.grants} grant(s) revoked, ${result.forwardAuthSessions} forward-auth session(s) ended\n`,
    );
    return 0;
  });
}
