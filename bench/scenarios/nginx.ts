/**
 * Scenario 2: a protected page behind the shipped nginx config (examples/nginx/gateway.conf,
 * filled in as a user would), whose `auth_request` goes to the gateway, against the same config
 * with that check answered by nginx itself (`return 204`): nginx's own limit. The app behind both
 * is a static page served by a third nginx server block.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shippedNginxConfig, startNginx } from '../../tests/helpers/nginx.ts';
import { freePort } from '../../tests/helpers/start-gateway.ts';
import { interleave, load, type Comparison, type LoadResult } from '../bench-kit.ts';
import { startBenchGateway } from '../start-bench-gateway.ts';
import { signInForBench } from './sign-in.ts';
import { childPids, cpuSeconds } from '../rss.ts';

/** CPU microseconds per request of the gateway and of nginx's workers, over the gateway runs. */
export interface CpuFigure {
  gatewayUs: number;
  nginxUs: number;
  nginxAloneUs: number;
}

/**
 * nginx closes a client's connection after `keepalive_requests` (1,000) requests, announcing it
 * with `Connection: close` on the last answer. A browser opens a new connection; autocannon
 * ignores the header and writes its next request into the closing socket, which nginx resets: the
 * "connection errors" of earlier runs (ECONNRESET at the load generator, none at nginx or the
 * gateway; 50 requests per connection gave hundreds of them, on both sides). The machine's nginx
 * settings, not the shipped server config, are raised here so the load generator never meets it.
 */
const CLIENT_KEEPALIVE = 'keepalive_requests 10000000;';

/** The shipped config on `listenPort`, with the app (a static page) served on `appPort`. */
function benchNginxConfig(options: { listenPort: number; gatewayPort: string; appPort: number; site: string }) {
  const shipped = shippedNginxConfig({ ...options, serverNames: '127.0.0.1' });
  const app = `
  server {
    listen 127.0.0.1:${options.appPort};
    location / { root ${options.site}; }
  }`;
  return { conf: `${CLIENT_KEEPALIVE}\n${shipped.conf}\n${app}`, files: shipped.files };
}

/** The same config with the check answered by nginx: `return 204` instead of the gateway. */
function withoutGateway(conf: string): string {
  const start = conf.indexOf('location = /oauth2/auth {');
  const end = conf.indexOf('}', start);
  const block = conf.slice(start, end);
  if (start < 0 || !block.includes('proxy_pass'))
    throw new Error('examples/nginx/gateway.conf has no `location = /oauth2/auth` with a proxy_pass');
  return `${conf.slice(0, start)}${block.replace(/proxy_pass\s+[^;]+;/, 'return 204;')}${conf.slice(end)}`;
}

export async function nginxScenario(options: {
  duration: number;
  rounds: number;
  cpu?: CpuFigure;
}): Promise<Comparison[]> {
  const [withGateway, alone, appWith, appAlone] = [
    await freePort(),
    await freePort(),
    await freePort(),
    await freePort(),
  ];
  // The gateway's forward auth answers only for the hosts named in GATEWAY_REDIRECT_DOMAINS (or
  // GATEWAY_COOKIE_DOMAINS), as the README's production section says: nginx's host is named here.
  const gateway = await startBenchGateway({ env: { GATEWAY_REDIRECT_DOMAINS: `127.0.0.1:${withGateway}` } });
  const site = mkdtempSync(join(tmpdir(), 'bench-site-'));
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>protected</title><p>hello</p>\n');
  const gatewayPort = new URL(gateway.issuer).port;
  const viaGateway = benchNginxConfig({ listenPort: withGateway, gatewayPort, appPort: appWith, site });
  const nginx = await startNginx(withGateway, viaGateway.conf, viaGateway.files);
  const bare = benchNginxConfig({ listenPort: alone, gatewayPort, appPort: appAlone, site });
  const nginxAlone = await startNginx(alone, withoutGateway(bare.conf), bare.files);
  try {
    const { cookie } = await signInForBench(gateway.issuer, gateway.google);
    for (const port of [withGateway, alone]) {
      const check = await fetch(`http://127.0.0.1:${port}/`, { headers: { cookie } });
      if (check.status !== 200) throw new Error(`sanity check through nginx on ${port} failed: HTTP ${check.status}`);
    }
    // One second of load on each, not measured: the gateway's code is compiled before A meets B.
    for (const port of [withGateway, alone])
      await load({ url: `http://127.0.0.1:${port}/`, headers: { cookie }, duration: 1 });
    const workers = childPids(nginx.pid);
    const aloneWorkers = childPids(nginxAlone.pid);
    const sum = (pids: number[]) => pids.reduce((total, pid) => total + cpuSeconds(pid), 0);
    let requests = 0;
    let aloneRequests = 0;
    let gatewayCpu = 0;
    let viaNginxCpu = 0;
    let aloneCpu = 0;
    const measured = async (run: () => Promise<LoadResult>, isAlone: boolean) => {
      const [g0, n0, a0] = [cpuSeconds(gateway.pid), sum(workers), sum(aloneWorkers)];
      const result = await run();
      const [g1, n1, a1] = [cpuSeconds(gateway.pid), sum(workers), sum(aloneWorkers)];
      if (isAlone) {
        aloneCpu += a1 - a0;
        aloneRequests += result.rps * options.duration;
      } else {
        gatewayCpu += g1 - g0;
        viaNginxCpu += n1 - n0;
        requests += result.rps * options.duration;
      }
      return result;
    };
    const runs = await interleave(
      options.rounds,
      () =>
        measured(
          () => load({ url: `http://127.0.0.1:${withGateway}/`, headers: { cookie }, duration: options.duration }),
          false,
        ),
      () =>
        measured(
          () => load({ url: `http://127.0.0.1:${alone}/`, headers: { cookie }, duration: options.duration }),
          true,
        ),
    );
    if (options.cpu) {
      options.cpu.gatewayUs = (gatewayCpu / requests) * 1e6;
      options.cpu.nginxUs = (viaNginxCpu / requests) * 1e6;
      options.cpu.nginxAloneUs = (aloneCpu / aloneRequests) * 1e6;
    }
    return [
      {
        scenario: '2. nginx (examples/nginx/gateway.conf) → auth_request → gateway → app',
        a: { label: 'via gateway', runs: runs.aRuns },
        b: { label: 'auth_request to `return 204`', runs: runs.bRuns },
        goal: 'rps ≥ 0.6 × nginx alone',
        met: (a, b) => a.rps >= 0.6 * b.rps,
      },
    ];
  } finally {
    await nginx.stop();
    await nginxAlone.stop();
    await gateway.stop();
    rmSync(site, { recursive: true, force: true });
  }
}
