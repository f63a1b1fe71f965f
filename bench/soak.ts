/**
 * `npm run bench -- --soak 600`: the gateway as shipped under mixed traffic for that long, its
 * resident memory sampled every 10 s. Each 10 s, all at once: forward-auth checks with a signed-in
 * browser's cookie (which expires every 300 s and is renewed as a browser renews it), an app
 * server's refresh grants (chains of rotating refresh tokens), and second-app single sign-on
 * sign-ins (authorize → code → token). Growth is the last minute's mean against the second
 * minute's (the first is warm-up: code compiled, pools and caches filled).
 */
import { chainedLoad, load, type LoadResult } from './bench-kit.ts';
import { rssMb } from './rss.ts';
import { signInForBench } from './scenarios/sign-in.ts';
import { ssoCookie, ssoSignIns } from './scenarios/sso-sign-in.ts';
import { startBenchGateway } from './start-bench-gateway.ts';

const SEGMENT_S = 10;
/** Load of each kind: checks dominate, as they do in front of real apps. */
const CHECK_CONNECTIONS = 20;
const REFRESH_CHAINS = 4;
const SIGN_IN_CONCURRENCY = 2;
/** The goal: RSS at the end at most this much above RSS after warm-up. */
export const SOAK_GROWTH_GOAL = 0.05;

export interface SoakResult {
  seconds: number;
  /** RSS samples in MB, one per segment. */
  samples: number[];
  warmMb: number;
  endMb: number;
  growth: number;
  /** Requests answered, per kind. */
  answered: { checks: number; refreshes: number; signIns: number };
  /** Every segment's runs, for the caller's error check. */
  runs: { label: string; runs: LoadResult[] }[];
}

const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / Math.max(values.length, 1);

export async function soak(seconds: number): Promise<SoakResult> {
  const gateway = await startBenchGateway();
  try {
    const signedIn = await signInForBench(gateway.issuer, gateway.google);
    let { cookie } = signedIn;
    const refreshTokens = await signedIn.moreRefreshTokens(REFRESH_CHAINS);
    const target = {
      origin: gateway.issuer,
      cookie: ssoCookie(signedIn.browser, gateway.issuer),
      clientSecret: gateway.clientSecret,
    };
    const basic = `Basic ${Buffer.from(`bench-app:${gateway.clientSecret}`).toString('base64')}`;
    const checks: LoadResult[] = [];
    const refreshes: LoadResult[] = [];
    const signIns: LoadResult[] = [];
    const samples: number[] = [];
    for (let elapsed = 0; elapsed < seconds; elapsed += SEGMENT_S) {
      // As a browser does: the cookie JWT lives GATEWAY_ACCESS_TOKEN_TTL (300 s by default) and
      // comes back renewed with the check after it expired (checks in between still pass).
      const renewed = (await fetch(`${gateway.issuer}/oauth2/auth`, { headers: { cookie } })).headers.get('set-cookie');
      if (renewed) cookie = renewed.split(';')[0] ?? cookie;
      const [check, refresh, signIn] = await Promise.all([
        load({
          url: `${gateway.issuer}/oauth2/auth`,
          headers: { cookie },
          duration: SEGMENT_S,
          connections: CHECK_CONNECTIONS,
        }),
        chainedLoad({
          origin: gateway.issuer,
          path: '/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic },
          seeds: refreshTokens,
          duration: SEGMENT_S,
          body: (token) => new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token }).toString(),
          next: (answer) => String(answer['refresh_token']),
        }),
        ssoSignIns(target, SEGMENT_S, SIGN_IN_CONCURRENCY),
      ]);
      checks.push(check);
      refreshes.push(refresh);
      signIns.push(signIn);
      samples.push(rssMb(gateway.pid));
      process.stderr.write(
        `soak ${elapsed + SEGMENT_S}/${seconds} s: RSS ${samples.at(-1)?.toFixed(0)} MB, ${check.rps.toFixed(0)} checks/s, ${refresh.rps.toFixed(0)} refreshes/s, ${signIn.rps.toFixed(0)} sign-ins/s\n`,
      );
    }
    const perMinute = 60 / SEGMENT_S;
    const warmMb = mean(samples.slice(perMinute, 2 * perMinute));
    const endMb = mean(samples.slice(-perMinute));
    const total = (runs: LoadResult[]) => runs.reduce((sum, r) => sum + r.rps * SEGMENT_S, 0);
    return {
      seconds,
      samples,
      warmMb,
      endMb,
      growth: (endMb - warmMb) / warmMb,
      answered: { checks: total(checks), refreshes: total(refreshes), signIns: total(signIns) },
      runs: [
        { label: 'checks', runs: checks },
        { label: 'refreshes', runs: refreshes },
        { label: 'SSO sign-ins', runs: signIns },
      ],
    };
  } finally {
    await gateway.stop();
  }
}
