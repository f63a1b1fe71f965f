/**
 * Starts a real gateway for a test: the fake Google on one loopback port, the gateway on another,
 * configured through `loadConfig` exactly as an operator would (environment variables).
 */
import type { FastifyInstance } from 'fastify';
import type { ClientMetadata } from 'oidc-provider';
import { loadConfig } from '../../config/load-config.ts';
import type { Store } from '../../adapters/store.ts';
import { buildGateway } from '../../gateway/app/build-gateway.ts';
import { startFakeGoogle, type FakeGoogle, type FakeGoogleOptions } from './fake-google.ts';
import { freePort } from './free-port.ts';

export { freePort };

export interface StartedGateway {
  issuer: string;
  /** Where this instance listens (`http://127.0.0.1:<port>`); the issuer unless `issuer` was given. */
  url: string;
  app: FastifyInstance;
  google: FakeGoogle;
  close(): Promise<void>;
}

export const UPSTREAM_CLIENT = { id: 'gateway-at-google', secret: 'gateway-at-google-secret-0123456789abcdef' };

/** The GATEWAY_SECRETS of test gateways (a CLI run against their store needs the same). */
export const TEST_SECRET = 'test-secret-0123456789abcdef0123456789abcdef';

export interface StartOptions {
  /** How often the gateway re-reads its signing keys (default 10 s). */
  keyRefreshMs?: number;
  /** Extra settings (environment variable names), e.g. GATEWAY_ALLOWED_EMAIL_DOMAINS. */
  env?: Record<string, string>;
  google?: Omit<FakeGoogleOptions, 'clients'>;
  store?: Store;
  clients?: ClientMetadata[];
  /** Listen on this port instead of a free one. */
  port?: number;
  /**
   * The public issuer, when it is not this instance's own address (several instances behind one
   * load balancer share one issuer). Default `http://127.0.0.1:<port>`.
   */
  issuer?: string;
  /** A fake Google to use (and leave running) instead of starting one: several instances, one upstream. */
  fakeGoogle?: FakeGoogle;
  /** Fastify logger options (default: pino at TEST_LOG_LEVEL, else silent). */
  logger?: object;
  /** Collects access log lines (and turns GATEWAY_ACCESS_LOG on). */
  accessLog?: (line: string) => void;
}

export async function startGateway(options: StartOptions = {}): Promise<StartedGateway> {
  const port = options.port ?? (await freePort());
  const issuer = options.issuer ?? `http://127.0.0.1:${port}`;
  const ownGoogle = options.fakeGoogle === undefined;
  const google =
    options.fakeGoogle ??
    (await startFakeGoogle({
      ...options.google,
      clients: [
        {
          client_id: UPSTREAM_CLIENT.id,
          client_secret: UPSTREAM_CLIENT.secret,
          redirect_uris: [`${issuer}/upstream/callback`],
        },
      ],
    }));
  const loaded = loadConfig({
    GATEWAY_ISSUER: issuer,
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(port),
    GATEWAY_STORE: 'memory://',
    GATEWAY_LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    GATEWAY_SECRETS: TEST_SECRET,
    UPSTREAM_ISSUER: google.issuer,
    UPSTREAM_CLIENT_ID: UPSTREAM_CLIENT.id,
    UPSTREAM_CLIENT_SECRET: UPSTREAM_CLIENT.secret,
    ...(options.accessLog ? { GATEWAY_ACCESS_LOG: 'on' } : {}),
    ...options.env,
  });
  if (!loaded.ok) {
    if (ownGoogle) await google.close();
    throw new Error(`test config invalid:\n${loaded.problems.join('\n')}`);
  }
  let app: FastifyInstance;
  try {
    app = await buildGateway(loaded.config, {
      ...(options.store ? { store: options.store } : {}),
      ...(options.clients ? { clients: options.clients } : {}),
      ...(options.keyRefreshMs ? { keyRefreshMs: options.keyRefreshMs } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.accessLog ? { accessLogWrite: options.accessLog } : {}),
    });
  } catch (error) {
    if (ownGoogle) await google.close();
    throw error;
  }
  try {
    await app.listen({ host: '127.0.0.1', port });
  } catch (error) {
    // A gateway that cannot listen must not keep the test process alive (its store, its timers).
    await app.close();
    if (ownGoogle) await google.close();
    throw error;
  }
  return {
    issuer,
    url: `http://127.0.0.1:${port}`,
    app,
    google,
    async close() {
      await app.close();
      if (ownGoogle) await google.close();
    },
  };
}
