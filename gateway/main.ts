/**
 * Starts the gateway: reads the config (refusing to start on any problem), listens, prints the
 * development banner, and shuts down cleanly on SIGTERM/SIGINT (a second signal exits at once).
 */
import { loadWithEnglishListFormat } from './provider/english-list-format.ts';

// oidc-provider first, with its two English list phrasings in plain code rather than ICU's
// locale data (6.4 MB of RSS: provider/english-list-format.ts); the rest imports it from then on.
await loadWithEnglishListFormat(() => import('oidc-provider'));
const { loadConfig } = await import('../config/load-config.ts');
const { buildGateway, DEV_IDP_PATH } = await import('./app/build-gateway.ts');

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

function startFailure(error: unknown, port: number): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'EADDRINUSE') return `port ${port} is already in use by another process (GATEWAY_PORT chooses another)`;
  if (code === 'EACCES') return `not allowed to listen on port ${port} (GATEWAY_PORT chooses another)`;
  return error instanceof Error ? error.message : String(error);
}

async function main(): Promise<void> {
  const result = loadConfig();
  if (!result.ok) {
    for (const problem of result.problems) console.error(problem);
    process.exit(1);
  }
  const { config } = result;
  let app: Awaited<ReturnType<typeof buildGateway>>;
  try {
    app = await buildGateway(config);
    if (config.store.startsWith('memory:')) {
      app.log.warn(
        'GATEWAY_STORE=memory:// keeps everything in this process: a restart signs everyone out and forgets every client',
      );
    }
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // What stops a start (the store cannot be reached, the port is taken, a bad clients file)
    // is the operator's to fix: one line that says so, not a stack trace (debug level shows it).
    console.error(`gateway: cannot start: ${startFailure(error, config.port)}`);
    if (config.logLevel === 'debug' || config.logLevel === 'trace') console.error(error);
    process.exit(1);
  }
  if (config.devMode) console.warn(devBanner(config.issuer));

  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      app.log.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    // Graceful: stop listening (a new connection is refused; a new request on a kept-alive one
    // gets 503 with `Connection: close`, so /readyz tells the load balancer at once), let the
    // requests in flight finish, then the onClose hooks close the store and the rate limiter's
    // connection. Past GATEWAY_SHUTDOWN_TIMEOUT, or on a second signal, exit without waiting.
    const deadlineMs = config.shutdownTimeout * 1000;
    app.log.info({ signal, deadline_ms: deadlineMs }, 'shutting down: finishing the requests in flight');
    const deadline = setTimeout(() => {
      app.log.error({ deadline_ms: deadlineMs }, 'shutdown deadline passed: exiting with requests still in flight');
      process.exit(1);
    }, deadlineMs);
    deadline.unref();
    // A kept-alive connection whose request has just finished would hold the close until its
    // keep-alive timeout: close each one as soon as it is idle.
    const sweep = setInterval(() => app.server.closeIdleConnections(), 50);
    sweep.unref();
    app.close().then(
      () => {
        app.log.info('stopped: requests in flight finished, store closed');
        process.exit(0);
      },
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
