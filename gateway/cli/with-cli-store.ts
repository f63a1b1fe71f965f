/**
 * What every store-backed CLI command shares: the same store as the running gateways (from the
 * same settings), refused when it is `memory://` (it lives inside one gateway process), always
 * closed, and any failure reported as one line with exit code 1.
 */
import { userInfo } from 'node:os';
import { openStore } from '../../adapters/open-store.ts';
import type { Store } from '../../adapters/store.ts';
import type { Config } from '../../config/config-type.ts';

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Who ran the command, for audit events (as the clients CLI records it). */
export function cliActor(): { via: 'cli'; user?: string } {
  try {
    return { via: 'cli', user: userInfo().username };
  } catch {
    return { via: 'cli' };
  }
}

export async function withCliStore(config: Config, io: CliIo, run: (store: Store) => Promise<number>): Promise<number> {
  if (config.store.startsWith('memory:')) {
    io.stderr('gateway: GATEWAY_STORE=memory:// lives inside one gateway process; the CLI cannot reach it\n');
    return 1;
  }
  let store: Store;
  try {
    store = await openStore(config.store);
  } catch (error) {
    io.stderr(`gateway: cannot open the store: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    return await run(store);
  } catch (error) {
    io.stderr(`gateway: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
