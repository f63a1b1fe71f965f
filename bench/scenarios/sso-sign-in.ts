/**
 * Scenario 5: the second app's sign-in of a user already signed in (single sign-on): the
 * authorization request answered at once with a code (no trip to Google, no consent for a
 * first-party app), then the code exchanged for tokens. One sign-in = those two requests.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import type { LoadResult } from '../bench-kit.ts';
import { startBenchGateway } from '../start-bench-gateway.ts';
import { signInForBench } from './sign-in.ts';

const CONCURRENCY = 16;

export async function ssoSignInScenario(options: {
  duration: number;
}): Promise<{ scenario: string; result: LoadResult; goal: string; met: boolean }> {
  const gateway = await startBenchGateway();
  try {
    const { browser } = await signInForBench(gateway.issuer, gateway.google);
    const cookie = browser
      .cookies(`${gateway.issuer}/auth`)
      .map((c) => `${c.name}=${c.value}`)
      .join('; ');
    const verifier = randomBytes(32).toString('base64url');
    const challenge = createHash('sha256').update(verifier).digest('base64url');
    const redirectUri = 'http://127.0.0.1:9/bench-app/callback';
    const basic = `Basic ${Buffer.from(`bench-app:${gateway.clientSecret}`).toString('base64')}`;
    const pool = new Pool(gateway.issuer, { connections: CONCURRENCY });
    const latencies: number[] = [];
    let failures = 0;
    const deadline = Date.now() + options.duration * 1000;
    const started = Date.now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (Date.now() < deadline) {
          const t0 = performance.now();
          const query = new URLSearchParams({
            client_id: 'bench-app',
            response_type: 'code',
            scope: 'openid email profile',
            redirect_uri: redirectUri,
            state: randomBytes(8).toString('hex'),
            nonce: randomBytes(8).toString('hex'),
            code_challenge: challenge,
            code_challenge_method: 'S256',
          });
          const authorization = await pool.request({ method: 'GET', path: `/auth?${query}`, headers: { cookie } });
          await authorization.body.dump();
          const code = new URL(String(authorization.headers['location'] ?? ''), gateway.issuer).searchParams.get(
            'code',
          );
          if (!code) {
            failures += 1;
            continue;
          }
          const token = await pool.request({
            method: 'POST',
            path: '/token',
            headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
            body: new URLSearchParams({
              grant_type: 'authorization_code',
              code,
              redirect_uri: redirectUri,
              code_verifier: verifier,
            }).toString(),
          });
          await token.body.dump();
          if (token.statusCode !== 200) failures += 1;
          else latencies.push(performance.now() - t0);
        }
      }),
    );
    const elapsed = (Date.now() - started) / 1000;
    await pool.close();
    latencies.sort((a, b) => a - b);
    const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
    const result = { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), non2xx: failures, errors: 0 };
    return {
      scenario: '5. second-app SSO sign-in (authorize → code → token)',
      result,
      goal: '≥ 300 sign-ins/s',
      met: result.rps >= 300,
    };
  } finally {
    await gateway.stop();
  }
}
