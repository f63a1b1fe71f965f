/**
 * `npx gateway keys list|rotate`: the signing key ring in the shared store, as every gateway
 * instance sees it. A rotation adds a pair that every instance publishes within its next key
 * reload and signs with after `GATEWAY_KEY_ROLL_IN`; it is an audit event.
 */
import { parseArgs } from 'node:util';
import type { Config } from '../../config/config-type.ts';
import { cliActor, withCliStore, type CliIo } from '../cli/with-cli-store.ts';
import { keyView, loadKeyRing, rotateKeys } from './signing-keys.ts';
import { loadStoreSealingFor } from './store-sealing.ts';

export const keysUsage = `  keys list [--json]      the signing keys: current, next (published, not yet signing), retired
  keys rotate [--json]    add a new key pair, signing after GATEWAY_KEY_ROLL_IN seconds`;

/** The longest lifetime of a token a key signed (see build-gateway.ts). */
function retentionMs(config: Config): number {
  return (Math.max(config.ttl.accessToken, 3600) + 60) * 1000;
}

export async function runKeysCommand(args: string[], config: Config, io: CliIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean', default: false } } });
  } catch (error) {
    io.stderr(`gateway: ${(error as Error).message}\n`);
    return 2;
  }
  const [command, ...extra] = parsed.positionals;
  if ((command !== 'list' && command !== 'rotate') || extra.length > 0) {
    io.stderr(`gateway: unknown keys command "${parsed.positionals.join(' ')}" (try: gateway keys list | gateway keys rotate)\n`);
    return 2;
  }
  return withCliStore(config, io, async (store) => {
    const sealing = await loadStoreSealingFor(config, store);
    if (command === 'rotate') {
      const result = await rotateKeys(store, sealing, { rollInMs: config.keyRollIn * 1000, retentionMs: retentionMs(config) });
      const at = new Date(result.activatesAt).toISOString();
      io.stderr(`${JSON.stringify({ audit: 'key.rotated', actor: cliActor(), kids: result.kids, activates_at: at, rotated: result.rotated, at: new Date().toISOString() })}\n`);
      if (parsed.values.json) io.stdout(`${JSON.stringify({ rotated: result.rotated, kids: result.kids, activates_at: at })}\n`);
      else if (result.rotated) io.stdout(`new keys ${result.kids.join(', ')} published now, signing from ${at}\n`);
      else io.stdout(`a rotation is already pending: keys ${result.kids.join(', ')} sign from ${at}\n`);
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
    else for (const row of rows) io.stdout(`${row.kid}  ${row.alg}  ${row.status.padEnd(7)}  signs from ${row.signs_from}${row.unpublished_at ? `  unpublished at ${row.unpublished_at}` : ''}\n`);
    return 0;
  });
}
