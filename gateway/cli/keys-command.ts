/**
 * `npx gateway keys list|rotate`: the signing key ring in the shared store, as every gateway
 * instance sees it. A rotation adds a pair and announces it on the store's channel, so every
 * running instance publishes it at once and signs with it after `GATEWAY_KEY_ROLL_IN`; it is an
 * audit event.
 */
import type { Config } from '../../config/config-type.ts';
import { parseCommandArgs } from './parse-command-args.ts';
import type { CliIo } from './cli-command.ts';
import { withCliStore } from './with-cli-store.ts';
import { cliActor, cliLog } from './cli-log.ts';
import { audit } from '../web/audit.ts';
import { keyView, loadKeyRing, rotateKeys } from '../keys/signing-keys.ts';
import { loadStoreSealingFor } from '../keys/store-sealing.ts';

/** The longest lifetime of a token a key signed (see build-gateway.ts). */
function retentionMs(config: Config): number {
  return (Math.max(config.ttl.accessToken, 3600) + 60) * 1000;
}

/**
 * Runs `keys list|rotate ...args` (their usage: keys-cli.ts) and returns the exit code; bad input
 * throws a UsageError before the store is opened.
 */
export async function runKeysCommand(
  command: 'list' | 'rotate',
  args: string[],
  config: Config,
  io: CliIo,
): Promise<number> {
  const parsed = parseCommandArgs(args, { json: { type: 'boolean', default: false } });
  return withCliStore(config, io, async (store) => {
    const sealing = await loadStoreSealingFor(config, store);
    if (command === 'rotate') {
      const result = await rotateKeys(store, sealing, {
        rollInMs: config.keyRollIn * 1000,
        retentionMs: retentionMs(config),
      });
      const at = new Date(result.activatesAt).toISOString();
      audit(
        cliLog(io, config.logLevel),
        'key.rotated',
        {
          actor: cliActor(),
          kids: result.kids,
          activates_at: at,
          rotated: result.rotated,
          at: new Date().toISOString(),
        },
        'signing keys rotated',
      );
      if (parsed.values.json)
        io.stdout(
          `${JSON.stringify({ rotated: result.rotated, kids: result.kids, activates_at: at, announced: result.announced })}\n`,
        );
      else if (result.rotated) io.stdout(`new keys ${result.kids.join(', ')} published now, signing from ${at}\n`);
      else io.stdout(`a rotation is already pending: keys ${result.kids.join(', ')} sign from ${at}\n`);
      if (result.rotated && !result.announced)
        io.stderr(
          'gateway: the running gateways could not be told; they load the new keys at their next reload (within 10 s)\n',
        );
      return 0;
    }
    const view = keyView(await loadKeyRing(store, sealing), Date.now(), retentionMs(config));
    const rows = view.statuses.map((s) => ({
      kid: s.kid,
      alg: s.alg,
      status: s.status,
      signs_from: new Date(s.activatesAt).toISOString(),
      ...(s.retiresAt === undefined ? {} : { unpublished_at: new Date(s.retiresAt).toISOString() }),
    }));
    if (parsed.values.json) io.stdout(`${JSON.stringify(rows)}\n`);
    else
      for (const row of rows)
        io.stdout(
          `${row.kid}  ${row.alg}  ${row.status.padEnd(7)}  signs from ${row.signs_from}${row.unpublished_at ? `  unpublished at ${row.unpublished_at}` : ''}\n`,
        );
    return 0;
  });
}
