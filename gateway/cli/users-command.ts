/**
 * `npx gateway users sign-out SUB`: ends every session of one user with the gateway's one
 * sign-out (cli-sign-out.ts), on the store the running gateways share. An audit event goes to
 * stderr as a JSON line, and so does a logout token that could not be delivered.
 */
import type { Config } from '../../config/config-type.ts';
import { parseCommandArgs } from './parse-command-args.ts';
import type { CliIo } from './cli-command.ts';
import { withCliStore } from './with-cli-store.ts';
import { cliActor, cliLog } from './cli-log.ts';
import { audit } from '../web/audit.ts';
import { findAccountBySub } from '../accounts/account-store.ts';
import { createCliSignOut } from './cli-sign-out.ts';

/**
 * Runs `users sign-out SUB` (its usage: users-cli.ts) and returns the exit code; bad input throws
 * a UsageError before the store is opened.
 */
export async function runUsersSignOut(args: string[], config: Config, io: CliIo): Promise<number> {
  const parsed = parseCommandArgs(args, { json: { type: 'boolean', default: false } }, ['SUB']);
  const sub = parsed.positionals[0] ?? '';
  return withCliStore(config, io, async (store) => {
    if (!(await findAccountBySub(store, sub))) {
      io.stderr(`gateway: no account with sub ${JSON.stringify(sub)}\n`);
      return 1;
    }
    const log = cliLog(io, config.logLevel);
    // Deliveries are counted on stdout; only a failure (warn) needs a line of its own.
    const signOut = await createCliSignOut(config, store, { info() {}, warn: log.warn });
    const result = await signOut.signOutAccount(sub);
    audit(
      log,
      'account.signed_out',
      { sub, actor: cliActor(), ...result, at: new Date().toISOString() },
      'every session of the account ended',
    );
    io.stdout(
      parsed.values.json
        ? `${JSON.stringify(result)}\n`
        : `signed out: ${result.sessions} session(s), ${result.grants} grant(s) revoked, ${result.forwardAuthSessions} forward-auth session(s) ended, ${result.backchannelLogouts} app(s) sent a logout token\n`,
    );
    return 0;
  });
}
