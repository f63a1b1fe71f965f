/**
 * Scenario 5: the second app's sign-in of a user already signed in (single sign-on): the
 * authorization request answered at once with a code (no trip to Google, no consent for a
 * first-party app), then the code exchanged for tokens. One sign-in = those two requests.
 * The gateway on Redis against bare oidc-provider doing the same flow, with the Redis adapter of
 * oidc-provider's example folder and with its memory adapter, interleaved.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Pool } from 'undici';
import { type Browser, createBrowser } from '../../tests/helpers/browser.ts';
import { interleaveAll, spawnServer, type Comparison, type LoadResult } from '../bench-kit.ts';
import { startProductionRedis } from '../production-redis.ts';
import { startBenchGateway } from '../start-bench-gateway.ts';
import { signInForBench } from './sign-in.ts';

const CONCURRENCY = 16;
const REDIRECT_URI = 'http://127.0.0.1:9/bench-app/callback';

export interface SignedIn {
  origin: string;
  /** The browser's cookies for the authorization endpoint (its SSO session). */
  cookie: string;
  clientSecret: string;
}

function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function authorizationQuery(challenge: string): URLSearchParams {
  return new URLSearchParams({
    client_id: 'bench-app',
    response_type: 'code',
    scope: 'openid email profile',
    redirect_uri: REDIRECT_URI,
    state: randomBytes(8).toString('hex'),
    nonce: randomBytes(8).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
  });
}

/** Single sign-on sign-ins, `concurrency` at a time, for `duration` seconds. */
export async function ssoSignIns(target: SignedIn, duration: number, concurrency = CONCURRENCY): Promise<LoadResult> {
  const { verifier, challenge } = pkce();
  const basic = `Basic ${Buffer.from(`bench-app:${target.clientSecret}`).toString('base64')}`;
  const pool = new Pool(target.origin, { connections: concurrency });
  const latencies: number[] = [];
  const problems: Record<string, number> = {};
  const count = (what: string) => {
    problems[what] = (problems[what] ?? 0) + 1;
  };
  let failures = 0;
  let errors = 0;
  const deadline = Date.now() + duration * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < deadline) {
        const t0 = performance.now();
        try {
          const authorization = await pool.request({
            method: 'GET',
            path: `/auth?${authorizationQuery(challenge)}`,
            headers: { cookie: target.cookie },
          });
          await authorization.body.dump();
          const location = String(authorization.headers['location'] ?? '');
          const code = new URL(location, target.origin).searchParams.get('code');
          if (!code || !location.startsWith(REDIRECT_URI)) {
            failures += 1;
            count(`authorization: HTTP ${authorization.statusCode} without a code`);
            continue;
          }
          const token = await pool.request({
            method: 'POST',
            path: '/token',
            headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
            body: new URLSearchParams({
              grant_type: 'authorization_code',
              code,
              redirect_uri: REDIRECT_URI,
              code_verifier: verifier,
            }).toString(),
          });
          await token.body.dump();
          if (token.statusCode !== 200) {
            failures += 1;
            count(`token: HTTP ${token.statusCode}`);
          } else latencies.push(performance.now() - t0);
        } catch (error) {
          errors += 1;
          count((error as { code?: string }).code ?? String(error));
        }
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), non2xx: failures, errors, problems };
}

/** Signs bench-user in at a bare oidc-provider (its interaction signs in at once): the SSO cookie. */
async function signInAtBare(issuer: string): Promise<string> {
  const browser = createBrowser();
  const { challenge } = pkce();
  const result = await browser.follow(`${issuer}/auth?${authorizationQuery(challenge)}`, (url) =>
    url.href.startsWith(REDIRECT_URI),
  );
  if (!result.location?.searchParams.get('code'))
    throw new Error(`sign-in at the bare oidc-provider gave no code (HTTP ${result.response.status})`);
  return browser
    .cookies(`${issuer}/auth`)
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

/** The browser's cookies for the gateway's authorization endpoint: its SSO session. */
export function ssoCookie(browser: Browser, issuer: string): string {
  return browser
    .cookies(`${issuer}/auth`)
    .map((c) => `${c.name}=${c.value}`)
    .join('; ');
}

interface BareServer {
  issuer: string;
  clientSecret: string;
}

export async function ssoSignInScenario(options: { duration: number; rounds: number }): Promise<Comparison[]> {
  const gateway = await startBenchGateway();
  const redis = await startProductionRedis();
  const bareRedis = await spawnServer<BareServer>('bench/servers/bare-provider-server.ts', {
    BENCH_REDIS_URL: redis.url,
    BENCH_REFRESH_CHAINS: '0',
  });
  const bareMemory = await spawnServer<BareServer>('bench/servers/bare-provider-server.ts', {
    BENCH_REFRESH_CHAINS: '0',
  });
  try {
    const { browser } = await signInForBench(gateway.issuer, gateway.google);
    const targets: SignedIn[] = [
      { origin: gateway.issuer, cookie: ssoCookie(browser, gateway.issuer), clientSecret: gateway.clientSecret },
    ];
    for (const bare of [bareRedis.info, bareMemory.info])
      targets.push({ origin: bare.issuer, cookie: await signInAtBare(bare.issuer), clientSecret: bare.clientSecret });
    const [gatewayRuns = [], redisRuns = [], memoryRuns = []] = await interleaveAll(
      options.rounds,
      targets.map((target) => () => ssoSignIns(target, options.duration)),
    );
    const scenario = '5. second-app SSO sign-in (authorize → code → token)';
    const a = { label: 'gateway on Redis', runs: gatewayRuns };
    const goal = 'sign-ins/s ≥ 0.8 × bare';
    const met = (x: LoadResult, y: LoadResult) => x.rps >= 0.8 * y.rps;
    return [
      {
        scenario: `${scenario}, vs Redis`,
        a,
        b: { label: 'bare oidc-provider, example Redis adapter', runs: redisRuns },
        goal,
        met,
      },
      {
        scenario: `${scenario}, vs memory`,
        a,
        b: { label: 'bare oidc-provider, memory adapter', runs: memoryRuns },
        goal,
        met,
      },
    ];
  } finally {
    await gateway.stop();
    await bareRedis.stop();
    await bareMemory.stop();
    await redis.close();
  }
}
