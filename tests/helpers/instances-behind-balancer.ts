/**
 * Several gateway instances, one store, one issuer: what a deployment behind a load balancer does.
 *
 * The instances are built as separate processes would be: the same settings (GATEWAY_SECRETS,
 * issuer), each its OWN connection to the shared Redis (REDIS_URL, default
 * redis://127.0.0.1:6379, under a key prefix of the suite's own, removed by `close`), different
 * ports, and one fake Google. A steerable load balancer (load-balancer.ts) holds the issuer's
 * address and picks the instance per request. An unreachable Redis fails the suite; it never
 * skips.
 */
import type { ClientMetadata } from 'oidc-provider';
import type { Store } from '../../adapters/store.ts';
import { startFakeGoogle, type FakeGoogle } from './fake-google.ts';
import { startLoadBalancer, type LoadBalancer } from './load-balancer.ts';
import { sharedRedis } from './shared-redis.ts';
import { freePort, startGateway, UPSTREAM_CLIENT, type StartedGateway } from './start-gateway.ts';

export interface InstancesBehindBalancer {
  lb: LoadBalancer;
  google: FakeGoogle;
  gateways: StartedGateway[];
  /** Another connection to the shared store, as a CLI on another machine would open; the caller closes it. */
  openStore(): Promise<Store>;
  /** Stops everything and deletes the suite's keys. */
  close(): Promise<void>;
}

export async function startInstancesBehindBalancer(options: {
  /** Names the key prefix (`test:<name>:<uuid>:`). */
  name: string;
  clients: ClientMetadata[];
  env?: Record<string, string>;
  count?: number;
}): Promise<InstancesBehindBalancer> {
  const redis = sharedRedis(options.name);
  const open = () => redis.open();
  const ports: number[] = [];
  for (let i = 0; i < (options.count ?? 2); i += 1) ports.push(await freePort());
  const lb = await startLoadBalancer(ports.map((port) => `http://127.0.0.1:${port}`));
  const google = await startFakeGoogle({
    clients: [
      {
        client_id: UPSTREAM_CLIENT.id,
        client_secret: UPSTREAM_CLIENT.secret,
        redirect_uris: [`${lb.url}/upstream/callback`],
      },
    ],
  });
  const stores: Store[] = [];
  const gateways: StartedGateway[] = [];
  const close = async () => {
    for (const gateway of gateways) await gateway.close();
    for (const store of stores) await store.close();
    await lb.close();
    await google.close();
    await redis.cleanup();
  };
  try {
    // One after the other, as a rolling deployment starts them (concurrent first starts on an
    // empty store are the key-rotation tests' business).
    for (const port of ports) {
      const store = await open();
      stores.push(store);
      gateways.push(
        await startGateway({
          port,
          issuer: lb.url,
          fakeGoogle: google,
          store,
          clients: options.clients,
          ...(options.env ? { env: options.env } : {}),
        }),
      );
    }
  } catch (error) {
    await close();
    throw error;
  }
  return { lb, google, gateways, openStore: open, close };
}
