/**
 * Starts a real gateway for a test: the fake Google on one loopback port, the gateway on another,
 * configured through `loadConfig` exactly as an operator would (environment variables).
 */
import { createServer } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ClientMetadata } from 'oidc-provider';
import { loadConfig } from '../../config/load-config.ts';
import type { Store } from '../../adapters/store.ts';
import { buildGateway } from '../../gateway/build-gateway.ts';
import type { DevIdpOptions } from '../../gateway/dev-idp/create-dev-idp.ts';
import { startFakeGoogle, type FakeGoogle } from './fake-google.ts';

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export interface StartedGateway {
  issuer: string;
  app: FastifyInstance;
  google: FakeGoogle;
  close(): Promise<void>;
}

export const UPSTREAM_CLIENT = { id: 'gateway-at-google', secret: 'gateway-at-google-secret-0123456789abcdef' };

export interface StartOptions {
  /** Extra settings (environment variable names), e.g. GATEWAY_ALLOWED_EMAIL_DOMAINS. */
  env?: Record<string, string>;
  google?: Omit<DevIdpOptions, 'issuer' | 'clients'>;
  store?: Store;
  clients?: ClientMetadata[];
}

export async function startGateway(options: StartOptions = {}): Promise<StartedGateway> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const google = await startFakeGoogle({
    ...options.google,
    clients: [{ client_id: UPSTREAM_CLIENT.id, client_secret: UPSTREAM_CLIENT.secret, redirect_uris: [`${issuer}/upstream/callback`] }],
  });
  const loaded = loadConfig({
    GATEWAY_ISSUER: issuer,
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(port),
    GATEWAY_STORE: 'memory://',
    GATEWAY_LOG_LEVEL: process.env['TEST_LOG_LEVEL'] ?? 'silent',
    GATEWAY_SECRETS: 'test-secret-0123456789abcdef0123456789abcdef',
    UPSTREAM_ISSUER: google.issuer,
    UPSTREAM_CLIENT_ID: UPSTREAM_CLIENT.id,
    UPSTREAM_CLIENT_SECRET: UPSTREAM_CLIENT.secret,
    ...options.env,
  });
  if (!loaded.ok) {
    await google.close();
    throw new Error(`test config invalid:\n${loaded.problems.join('\n')}`);
  }
  const app = await buildGateway(loaded.config, {
    ...(options.store ? { store: options.store } : {}),
    ...(options.clients ? { clients: options.clients } : {}),
  });
  await app.listen({ host: '127.0.0.1', port });
  return {
    issuer,
    app,
    google,
    async close() {
      await app.close();
      await google.close();
    },
  };
}
