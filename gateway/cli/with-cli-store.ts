/**
 * What every store-backed CLI command shares: the same settings as the running gateways (the
 * environment and GATEWAY_CONFIG), hence the same store, refused when it is `memory://` (it lives
 * inside one gateway process), always closed, and any failure reported as one line with exit
 * code 1.
 */
import { openStore } from '../../adapters/open-store.ts';
import type { Store } from '../../adapters/store.ts';
import type { Config } from '../../config/config-type.ts';
import type { CliIo } from './cli-command.ts';

/** Runs `run` with the gateway's settings; invalid settings are one line and exit code 1. */
export async function withSettings(io: CliIo, run: (config: Config) => Promise<number>): Promise<number> {
  // Loaded here, not at the top: `--help` of every command loads this file, and needs no settings.
  const { loadConfig } = await import('../../config/load-config.ts');
  const loaded = loadConfig();
  if (!loaded.ok) {
    io.stderr(`gateway: invalid settings (see: npx gateway config check): ${loaded.problems.join('; ')}\n`);
    return 1;
  }
  return run(loaded.config);
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

/** The one answer when SUB names no account: a line on stderr, exit code 1. */
export function noSuchAccount(io: CliIo, sub: string): number {
  io.stderr(`gateway: no account with sub ${JSON.stringify(sub)} (npx gateway users find finds it)\n`);
  return 1;
}
