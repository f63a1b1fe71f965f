/**
 * Starts the gateway: reads the config (refusing to start on any problem), listens, prints the
 * development banner, and shuts down cleanly on SIGTERM/SIGINT (a second signal exits at once).
 */
import { loadConfig } from '../config/load-config.ts';
import { buildGateway, DEV_IDP_PATH } from './build-gateway.ts';

const SHUTDOWN_DEADLINE_MS = 10_000;

function devBanner(issuer: string): string {
  const line = '='.repeat(72);
  return [
    line,
    '  DEV MODE: no UPSTREAM_CLIENT_ID is set, so the embedded development IdP',
    '  stands in for Google. Anyone can sign in as anyone. Never use this in production.',
    '',
    `  Try it:      ${issuer}/demo`,
    `  Discovery:   ${issuer}/.well-known/openid-configuration`,
    `  Dev IdP:     ${issuer}${DEV_IDP_PATH}/.well-known/openid-configuration`,
    line,
  ].join('\n');
}

async function main(): Promise<void> {
  const result = loadConfig();
  if (!result.ok) {
    for (const problem of result.problems) console.error(problem);
    process.exit(1);
  }
  const { config } = result;
  const app = await buildGateway(config);
  if (config.store.startsWith('memory:')) {
    app.log.warn('GATEWAY_STORE=memory:// keeps everything in this process: a restart signs everyone out and forgets every client');
  }
  await app.listen({ host: config.host, port: config.port });
  if (config.devMode) console.warn(devBanner(config.issuer));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    const deadline = setTimeout(() => {
      app.log.error('shutdown deadline passed: exiting');
      process.exit(1);
    }, SHUTDOWN_DEADLINE_MS);
    deadline.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        app.log.error({ err: error }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

await main();
