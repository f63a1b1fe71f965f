/**
 * `npx gateway users sign-out <sub>`: ends every session of one user (see sign-out-account.ts),
 * on the store the running gateways share. An audit event goes to stderr as a JSON line.
 */
import { parseArgs } from 'node:util';
import type { Config } from '../../config/config-type.ts';
import { openStore } from '../../adapters/open-store.ts';
import { findAccountBySub } from './account-store.ts';
import { signOutAccount } from './sign-out-account.ts';

export const usersUsage = `  users sign-out <sub> [--json]   end every session of one user: apps cannot refresh, forward-auth cookies are refused`;

interface Io {
  stdout(text: string): void;
  stderr(text: string): void;
}

export async function runUsersCommand(args: string[], config: Config, io: Io): Promise<number> {
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
  if (config.store.startsWith('memory:')) {
    io.stderr('gateway: GATEWAY_STORE=memory:// lives inside one gateway process; the CLI cannot reach it\n');
    return 1;
  }
  let store;
  try {
    store = await openStore(config.store);
  } catch (error) {
    io.stderr(`gateway: cannot open the store: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    if (!(await findAccountBySub(store, sub))) {
      io.stderr(`gateway: no account with sub ${JSON.stringify(sub)}\n`);
      return 1;
    }
    const result = await signOutAccount(store, sub);
    io.stderr(`${JSON.stringify({ audit: 'account.signed_out', sub, actor: { via: 'cli', user: process.env['USER'] ?? 'unknown' }, ...result, at: new Date().toISOString() })}\n`);
    io.stdout(parsed.values.json ? `${JSON.stringify(result)}\n` : `signed out: ${result.sessions} session(s), ${result.grants} grant(s) revoked, ${result.forwardAuthSessions} forward-auth session(s) ended\n`);
    return 0;
  } catch (error) {
    io.stderr(`gateway: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
