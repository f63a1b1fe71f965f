/**
 * Scenarios 1 and 3: `/oauth2/auth` with a valid cookie, and with a Bearer access JWT, each
 * against a bare Fastify route answering 202 with the same headers.
 */
import { interleave, load, spawnServer, type Comparison, type LoadResult } from '../bench-kit.ts';
import { startBenchGateway } from '../start-bench-gateway.ts';
import { rssMb } from '../rss.ts';
import { signInForBench } from './sign-in.ts';

export interface MemoryFigure {
  /** Resident memory after each loaded run, MB. */
  samples: number[];
}

export async function forwardAuthScenarios(options: {
  duration: number;
  rounds: number;
  memory?: MemoryFigure;
}): Promise<Comparison[]> {
  const gateway = await startBenchGateway();
  const sampled = async (run: Promise<LoadResult>) => {
    const result = await run;
    options.memory?.samples.push(rssMb(gateway.pid));
    return result;
  };
  const bare = await spawnServer<{ port: number }>('bench/servers/bare-server.ts');
  try {
    const { cookie, accessToken } = await signInForBench(gateway.issuer, gateway.google);
    const bareUrl = `http://127.0.0.1:${bare.info.port}/oauth2/auth`;
    const authUrl = `${gateway.issuer}/oauth2/auth`;
    for (const headers of [{ cookie }, { authorization: `Bearer ${accessToken}` }]) {
      const check = await fetch(authUrl, { headers });
      if (check.status !== 202) throw new Error(`sanity check failed: /oauth2/auth answered ${check.status}`);
    }
    // One second of load on each, not measured: both processes' code is compiled before A meets B.
    await load({ url: authUrl, headers: { cookie }, duration: 1 });
    await load({ url: bareUrl, headers: { cookie }, duration: 1 });
    const goal = 'rps ≥ 0.85 × bare, p99 ≤ 2 × bare';
    const met = (a: { rps: number; p99: number }, b: { rps: number; p99: number }) =>
      a.rps >= 0.85 * b.rps && a.p99 <= 2 * Math.max(b.p99, 1);
    const cookieRuns = await interleave(
      options.rounds,
      () => sampled(load({ url: authUrl, headers: { cookie }, duration: options.duration })),
      () => load({ url: bareUrl, headers: { cookie }, duration: options.duration }),
    );
    const bearerRuns = await interleave(
      options.rounds,
      () =>
        sampled(
          load({ url: authUrl, headers: { authorization: `Bearer ${accessToken}` }, duration: options.duration }),
        ),
      () => load({ url: bareUrl, headers: { authorization: `Bearer ${accessToken}` }, duration: options.duration }),
    );
    return [
      {
        scenario: '1. /oauth2/auth, valid cookie',
        a: { label: 'gateway', runs: cookieRuns.aRuns },
        b: { label: 'bare Fastify 202', runs: cookieRuns.bRuns },
        goal,
        met,
      },
      {
        scenario: '3. /oauth2/auth, Bearer JWT',
        a: { label: 'gateway', runs: bearerRuns.aRuns },
        b: { label: 'bare Fastify 202', runs: bearerRuns.bRuns },
        goal,
        met,
      },
    ];
  } finally {
    await gateway.stop();
    await bare.stop();
  }
}
