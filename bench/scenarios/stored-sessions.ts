/**
 * Scenario 6: the forward-auth check with 10^3 and with 10^6 sessions in the store. Two gateways,
 * each on a Redis of its own (started for the run, configured as the README's production section says), one filled with a thousand sessions, the other
 * with a million; `/oauth2/auth` is measured on both, interleaved. The check never reads the store,
 * so the ratio should stay at 1 whatever the store holds.
 */
import { randomBytes } from 'node:crypto';
import { createClient } from '@keyv/redis';
import { interleave, load, type Comparison } from '../bench-kit.ts';
import { startProductionRedis } from '../production-redis.ts';
import { startBenchGateway } from '../start-bench-gateway.ts';
import { signInForBench } from './sign-in.ts';

async function fill(url: string, prefix: string, count: number): Promise<void> {
  const client = createClient({ url });
  await client.connect();
  const value = JSON.stringify({
    sub: 'x'.repeat(36),
    sid: 'y'.repeat(21),
    accessToken: 'z'.repeat(40),
    createdAt: Date.now(),
  });
  for (let done = 0; done < count; done += 10_000) {
    const batch = client.multi();
    for (let i = done; i < Math.min(count, done + 10_000); i += 1)
      batch.set(`${prefix}fa-session:${randomBytes(16).toString('base64url')}`, value, { PX: 3_600_000 });
    await batch.exec();
  }
  await client.close();
}

/**
 * Waits until `url`'s Redis has no background save or append-only-file rewrite running: the
 * million writes above start one (auto-aof-rewrite), whose child process would take a core from
 * the side measured while it runs.
 */
async function settle(url: string): Promise<void> {
  const client = createClient({ url });
  await client.connect();
  try {
    for (let i = 0; i < 600; i += 1) {
      const info = String(await client.sendCommand(['INFO', 'persistence']));
      if (/aof_rewrite_in_progress:0/.test(info) && /rdb_bgsave_in_progress:0/.test(info)) {
        if (!/aof_rewrite_scheduled:1/.test(info)) return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the Redis at ${url} was still rewriting its append-only file after 60 s`);
  } finally {
    await client.close();
  }
}

export async function storedSessionsScenario(options: {
  duration: number;
  rounds: number;
  large: number;
}): Promise<Comparison[]> {
  const small = await startProductionRedis();
  const big = await startProductionRedis();
  const prefix = 'gateway:';
  const a = await startBenchGateway({ store: small.url });
  const b = await startBenchGateway({ store: big.url });
  try {
    await fill(small.url, prefix, 1_000);
    await fill(big.url, prefix, options.large);
    await settle(small.url);
    await settle(big.url);
    const cookieA = (await signInForBench(a.issuer, a.google)).cookie;
    const cookieB = (await signInForBench(b.issuer, b.google)).cookie;
    // One second of each first, not measured: both processes' code is compiled before A meets B.
    await load({ url: `${b.issuer}/oauth2/auth`, headers: { cookie: cookieB }, duration: 1 });
    await load({ url: `${a.issuer}/oauth2/auth`, headers: { cookie: cookieA }, duration: 1 });
    const runs = await interleave(
      options.rounds,
      () => load({ url: `${b.issuer}/oauth2/auth`, headers: { cookie: cookieB }, duration: options.duration }),
      () => load({ url: `${a.issuer}/oauth2/auth`, headers: { cookie: cookieA }, duration: options.duration }),
    );
    return [
      {
        scenario: `6. /oauth2/auth with ${options.large.toLocaleString('en-US')} vs 1,000 stored sessions`,
        a: { label: `${options.large.toLocaleString('en-US')} sessions`, runs: runs.aRuns },
        b: { label: '1,000 sessions', runs: runs.bRuns },
        goal: 'rps ≥ 0.95 × (1,000 sessions)',
        met: (x, y) => x.rps >= 0.95 * y.rps,
      },
    ];
  } finally {
    await a.stop();
    await b.stop();
    await small.close();
    await big.close();
  }
}
