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
  let bare: Awaited<ReturnType<typeof spawnServer<{ port: number }>>> | undefined;
  try {
    const { cookie, accessToken } = await signInForBench(gateway.issuer, gateway.google);
    const authUrl = `${gateway.issuer}/oauth2/auth`;
    // The bare route answers with exactly the headers the gateway answered these with.
    const answered: Record<string, Record<string, string>> = {};
    for (const [kind, headers] of [
      ['cookie', { cookie }],
      ['bearer', { authorization: `Bearer ${accessToken}` }],
    ] as const) {
      const check = await fetch(authUrl, { headers });
      if (check.status !== 202) throw new Error(`sanity check failed: /oauth2/auth answered ${check.status}`);
      answered[kind] = Object.fromEntries([...check.headers].filter(([name]) => !NODE_SETS.has(name)));
    }
    bare = await spawnServer<{ port: number }>('bench/servers/bare-server.ts', {
      BENCH_HEADERS: JSON.stringify(answered),
    });
    const bareUrl = `http://127.0.0.1:${bare.info.port}/oauth2/auth`;
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
    const ruled = await pathRulesRuns(options, bareUrl);
    return [
      {
        scenario: '1. /oauth2/auth, valid cookie',
        a: { label: 'gateway', runs: cookieRuns.aRuns },
        b: { label: 'bare Fastify 202', runs: cookieRuns.bRuns },
        goal,
        met,
      },
      {
        scenario: `1b. /oauth2/auth, valid cookie, ${PATH_RULES} path rules (X-Original-URI, X-Original-Method)`,
        a: { label: 'gateway with rules', runs: ruled.aRuns },
        b: { label: 'bare Fastify 202', runs: ruled.bRuns },
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
    await bare?.stop();
  }
}

/** Headers Node's HTTP server writes by itself on both sides. */
const NODE_SETS = new Set(['connection', 'keep-alive', 'date', 'content-length', 'transfer-encoding']);

/** Rules in the rule-set scenario: a host with many paths, as a team's rules file would have. */
const PATH_RULES = 40;

/**
 * Scenario 1b: the check of scenario 1 on a gateway whose host has PATH_RULES path rules (groups,
 * methods, public paths, networks), the request naming a path deep under one of them, as nginx
 * sends it. Rules are compiled at start; this shows what matching costs per request.
 */
async function pathRulesRuns(options: { duration: number; rounds: number }, bareUrl: string) {
  const rules = Array.from({ length: PATH_RULES }, (_, i) => {
    const path = `/section-${i}`;
    if (i % 4 === 1) return { host: '127.0.0.1', path, allow: 'public' };
    if (i % 4 === 2) return { host: '127.0.0.1', path, trusted_networks: ['10.20.0.0/16'] };
    if (i % 4 === 3) return { host: '127.0.0.1', path, methods: ['POST'], allowed_groups: ['writers'] };
    return { host: '127.0.0.1', path, allowed_email_domains: ['example.com'] };
  });
  rules.push({ host: '.example.org', path: '/', allowed_email_domains: ['example.org'] });
  const gateway = await startBenchGateway({ env: { GATEWAY_HOST_RULES: JSON.stringify(rules) } });
  try {
    const { cookie } = await signInForBench(gateway.issuer, gateway.google);
    const headers = { cookie, 'x-original-uri': '/section-36/reports/2026?page=2', 'x-original-method': 'GET' };
    const authUrl = `${gateway.issuer}/oauth2/auth`;
    const check = await fetch(authUrl, { headers });
    if (check.status !== 202) throw new Error(`sanity check failed: /oauth2/auth with rules answered ${check.status}`);
    const refused = await fetch(authUrl, {
      headers: { ...headers, 'x-original-method': 'POST', 'x-original-uri': '/section-3/x' },
    });
    if (refused.status !== 403)
      throw new Error(`sanity check failed: a POST under a group rule answered ${refused.status}`);
    await load({ url: authUrl, headers, duration: 1 });
    return await interleave(
      options.rounds,
      () => load({ url: authUrl, headers, duration: options.duration }),
      () => load({ url: bareUrl, headers, duration: options.duration }),
    );
  } finally {
    await gateway.stop();
  }
}
