/**
 * `npx gateway users sign-out <sub>`: ends every session of one user (see sign-out-account.ts),
 * on the store the running gateways share. An audit event goes to stderr as a JSON line.
 */
import { parseArgs } from 'node:util';
import type { Config } from '../../config/config-type.ts';
import { cliActor, withCliStore, type CliIo } from '../cli/with-cli-store.ts';
import { loadStoreSealingFor } from '../keys/store-sealing.ts';
import { findAccountBySub } from './account-store.ts';
import { signOutAccount } from './sign-out-account.ts';

export const usersUsage = `  users sign-out <sub> [--json]   end every session of one user: apps cannot refresh, forward-auth cookies are refused`;

export async function runUsersCommand(args: string[], config: Config, io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  } catch (error) {
    io.stderr(`gateway: ${(error as Error).message}\n`);
    return 2;
  }
  const [command, sub, ...extra] = parsed.positionals;
  if (command !== 'sign-out' || !sub || extra.length > 0) {
    io.stderr('gateway: usage: gateway users sign-out <sub>\n');
    return 2;
  }
  return withCliStore(config, io, async (store) => {
    if (!(await findAccountBySub(store, sub))) {
      io.stderr(`gateway: no account with sub ${JSON.stringify(sub)}\n`);
      return 1;
    }
    const result = await signOutAccount(store, await loadStoreSealingFor(config, store), sub);
    io.stderr(`${JSON.stringify({ audit: 'account.signed_out', sub, actor: cliActor(), ...result, at: new Date().toISOString() })}\n`);
    io.stdout(parsed.values.json ? `${JSON.stringify(result)}\n` : `signed out: ${result.sessions} session(s), ${result.grants} grant(s) revoked, ${result.forwardAuthSessions} forward-auth session(s) ended\n`);
    return 0;
  });
}
