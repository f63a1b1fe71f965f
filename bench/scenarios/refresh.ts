/**
 * Scenario 4: the refresh grant (rotating refresh tokens, a JWT access token and an ID token per
 * answer) on the gateway over Redis, against a bare oidc-provider with its memory adapter and the
 * same keys and token settings. 32 chains of refreshes in flight.
 */
import { startRedisServer } from '../../tests/helpers/redis-server.ts';
import { chainedLoad, interleave, spawnServer, type Comparison } from '../bench-kit.ts';
import { startBenchGateway } from '../start-bench-gateway.ts';
import { signInForBench } from './sign-in.ts';

const CHAINS = 32;

interface RefreshServer {
  issuer: string;
  clientSecret: string;
  refreshTokens: string[];
}

export async function refreshScenario(options: { duration: number; rounds: number }): Promise<Comparison[]> {
  const redis = await startRedisServer();
  const started = await startBenchGateway({ GATEWAY_STORE: redis.url });
  const signedIn = await signInForBench(started.issuer, started.google);
  const gateway = {
    info: {
      issuer: started.issuer,
      clientSecret: started.clientSecret,
      refreshTokens: await signedIn.moreRefreshTokens(CHAINS),
    },
    stop: () => started.stop(),
  };
  const bare = await spawnServer<RefreshServer>('bench/servers/bare-provider-server.ts', {
    BENCH_REFRESH_CHAINS: String(CHAINS),
  });
  try {
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
    const runs = await interleave(options.rounds, run(gateway.info), run(bare.info));
    return [
      {
        scenario: '4. refresh grant (rotation, JWT access token, ID token)',
        a: { label: 'gateway on Redis', runs: runs.aRuns },
        b: { label: 'bare oidc-provider, memory adapter', runs: runs.bRuns },
        goal: 'rps ≥ 0.8 × bare and ≥ 1,000/s',
        met: (a, b) => a.rps >= 0.8 * b.rps && a.rps >= 1000,
      },
    ];
  } finally {
    await gateway.stop();
    await bare.stop();
    await redis.close();
  }
}
