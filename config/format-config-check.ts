import { parseRedisUrl } from './redis-url.ts';
import type { Config } from './config-type.ts';
import type { LoadResult } from './load-config.ts';

/**
 * What `npx gateway config check` prints: on success a short summary without any secret (exit 0),
 * on failure one line per problem (exit 1).
 */
export function formatConfigCheck(result: LoadResult): { exitCode: number; output: string } {
  if (!result.ok) return { exitCode: 1, output: result.problems.join('\n') };
  const { config } = result;
  const lines = [
    'configuration OK',
    `issuer:     ${config.issuer}`,
    `listens on: ${config.host}:${config.port}`,
    `store:      ${describeStore(config.store)}`,
    ...(config.devMode
      ? ['upstream:   DEV MODE: the embedded development IdP']
      : config.upstreams.map(
          (u) =>
            `upstream:   ${u.id} (${u.type}, ${u.issuer}); its redirect URI to register: ${config.issuer}${u.callbackPath}`,
        )),
    `production: ${config.production ? 'yes' : 'no'}`,
  ];
  return { exitCode: 0, output: lines.join('\n') };
}

/** The kind and place of a store, without a Redis user or password. */
export function describeStore(store: Config['store']): string {
  if (store === 'memory://') return 'memory (lost on restart)';
  if (store.startsWith('sqlite://')) return `sqlite ${store.slice('sqlite://'.length)}`;
  return parseRedisUrl(store).where;
}
