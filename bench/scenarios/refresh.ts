/**
 * Scenario 4: the refresh grant (rotating refresh tokens, a JWT access token and an ID token per
 * answer) on the gateway as shipped (Redis), against bare oidc-provider with the same token
 * settings on the Redis adapter of oidc-provider's example folder (what a user would write
 * instead) and on its memory adapter. 32 chains of refreshes in flight, from one address, as an
 * app server refreshing for its users does; the three interleaved.
 */
import { chainedLoad, interleaveAll, spawnServer, type Comparison } from '../bench-kit.ts';
import { startProductionRedis } from '../production-redis.ts';
import { startBenchGateway } from '../start-bench-gateway.ts';
import { signInForBench } from './sign-in.ts';

const CHAINS = 32;

interface RefreshServer {
  issuer: string;
  clientSecret: string;
  refreshTokens: string[];
}

export async function refreshScenario(options: { duration: number; rounds: number }): Promise<Comparison[]> {
  const started = await startBenchGateway();
  const redis = await startProductionRedis();
  const stops: (() => Promise<void>)[] = [() => started.stop(), () => redis.close()];
  try {
    const signedIn = await signInForBench(started.issuer, started.google);
    const gateway: RefreshServer = {
      issuer: started.issuer,
      clientSecret: started.clientSecret,
      refreshTokens: await signedIn.moreRefreshTokens(CHAINS),
    };
    const bareRedis = await spawnServer<RefreshServer>('bench/servers/bare-provider-server.ts', {
      BENCH_REFRESH_CHAINS: String(CHAINS),
      BENCH_REDIS_URL: redis.url,
    });
    stops.unshift(() => bareRedis.stop());
    const bareMemory = await spawnServer<RefreshServer>('bench/servers/bare-provider-server.ts', {
      BENCH_REFRESH_CHAINS: String(CHAINS),
    });
    stops.unshift(() => bareMemory.stop());
    const run = (server: RefreshServer) => () =>
      chainedLoad({
        origin: server.issuer,
        path: '/token',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          authorization: `Basic ${Buffer.from(`bench-app:${server.clientSecret}`).toString('base64')}`,
        },
        seeds: server.refreshTokens,
        duration: options.duration,
        body: (token) => new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString(),
        next: (answer) => String(answer['refresh_token']),
      });
    const [gatewayRuns = [], redisRuns = [], memoryRuns = []] = await interleaveAll(options.rounds, [
      run(gateway),
      run(bareRedis.info),
      run(bareMemory.info),
    ]);
    const scenario = '4. refresh grant (rotation, JWT access token, ID token)';
    const a = { label: 'gateway on Redis', runs: gatewayRuns };
    return [
      {
        scenario: `${scenario}, vs Redis`,
        a,
        b: { label: 'bare oidc-provider, example Redis adapter', runs: redisRuns },
        goal: 'rps ≥ 1.0 × bare',
        met: (x, y) => x.rps >= y.rps,
      },
      {
        scenario: `${scenario}, vs memory`,
        a,
        b: { label: 'bare oidc-provider, memory adapter', runs: memoryRuns },
        goal: 'rps ≥ 0.8 × bare and ≥ 1,000/s',
        met: (x, y) => x.rps >= 0.8 * y.rps && x.rps >= 1000,
      },
    ];
  } finally {
    for (const stop of stops) await stop();
  }
}
