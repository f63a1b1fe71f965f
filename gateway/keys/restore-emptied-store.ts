/**
 * What a running gateway puts back when its store has lost its data under it (a Redis restart
 * without persistence, a FLUSHALL; live-keys.ts notices the signing keys gone): the data key it
 * holds, and in development the secrets that wrap it. Everything this instance seals stays
 * readable, and instances started afterwards open the same data key instead of making one that
 * the running instances cannot read. The signing keys follow (live-keys.ts), and the caller
 * loads GATEWAY_CLIENTS_FILE again.
 *
 * What no instance holds is gone, and the log says so once per instance, at error level:
 * sessions, refresh tokens, accounts (a local `sub` is random per upstream identity, so a user
 * who signs in again gets a new one: apps see a new user), and clients registered through the API
 * or the CLI.
 */
import type { Store } from '../../adapters/store.ts';
import type { Config } from '../../config/config-type.ts';
import { restoreCookieSecrets } from './cookie-secrets.ts';
import { restoreDataKey } from './data-key.ts';

export interface EmptiedStoreDeps {
  config: Config;
  store: Store;
  /** The secrets this instance uses (GATEWAY_SECRETS, or the generated development ones). */
  secrets: readonly string[];
  /** The data key this instance holds. */
  dataKey: Buffer;
  log: { error(obj: object, msg: string): void };
}

/** Puts the secrets and the data key back; throws when another data key has taken its place. */
export async function restoreEmptiedStore(deps: EmptiedStoreDeps): Promise<void> {
  await restoreCookieSecrets(deps.config, deps.store, deps.secrets);
  const outcome = await restoreDataKey(deps.store, deps.secrets, deps.dataKey);
  if (outcome === 'replaced') {
    deps.log.error(
      { event: 'store_emptied', data_key: 'replaced' },
      "the store lost its data and another instance has since made a new data key: this instance and that one cannot read each other's records; restart this instance",
    );
    throw new Error("the store's data key was replaced after the store lost its data");
  }
  deps.log.error(
    { event: 'store_emptied', data_key: outcome },
    'the store lost its data while the gateway ran (a Redis restart without persistence?): the data key and signing keys are back, ' +
      'but every session, refresh token and account is gone (users sign in again, under a new sub) and so is every client registered through the API or the CLI ' +
      '(register them again, or restore the store from a backup); make the store persistent (appendonly yes)',
  );
}
