/**
 * Scenario 2: a protected static page behind nginx `auth_request` to the gateway, against the
 * same page behind `auth_request` to a location that answers 204 by itself (nginx's own limit).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNginx } from '../../tests/helpers/nginx.ts';
import { freePort } from '../../tests/helpers/start-gateway.ts';
import { interleave, load, type Comparison } from '../bench-kit.ts';
import { startBenchGateway } from '../start-bench-gateway.ts';
import { signInForBench } from './sign-in.ts';
import { childPids, cpuSeconds } from '../rss.ts';

/** CPU microseconds per request of the gateway and of nginx's workers, over the gateway runs. */
export interface CpuFigure {
  gatewayUs: number;
  nginxUs: number;
  nginxAloneUs: number;
}

export async function nginxScenario(options: {
  duration: number;
  rounds: number;
  cpu?: CpuFigure;
}): Promise<Comparison[]> {
  const [withGateway, alone] = [await freePort(), await freePort()];
  // nginx serves the app at its own address: the gateway's forward auth answers only for the
  // issuer's origin and the hosts named in GATEWAY_REDIRECT_DOMAINS (403 for any other host).
  const gateway = await startBenchGateway({ GATEWAY_REDIRECT_DOMAINS: `127.0.0.1:${withGateway}` });
  const site = mkdtempSync(join(tmpdir(), 'bench-site-'));
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>protected</title><p>hello</p>\n');
  const gatewayAddress = new URL(gateway.issuer).host;
  const nginx = await startNginx(
    withGateway,
    `
  upstream gateway_backend { server ${gatewayAddress}; keepalive 64; }
  server {
    listen 127.0.0.1:${withGateway};
    location = /oauth2/auth {
      internal;
      proxy_pass http://gateway_backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      # as examples/nginx/gateway.conf: what nginx served, never what the client sent
      proxy_set_header X-Forwarded-Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-For $remote_addr;
      proxy_set_header X-Forwarded-Uri $request_uri;
      proxy_set_header Content-Length "";
      proxy_pass_request_body off;
    }
    location / {
      auth_request /oauth2/auth;
      auth_request_set $email $upstream_http_x_auth_request_email;
      auth_request_set $token $upstream_http_x_auth_request_access_token;
      add_header X-Email $email;
      root ${site};
    }
  }
  server {
    listen 127.0.0.1:${alone};
    location = /auth { internal; return 204; }
    location / { auth_request /auth; root ${site}; }
  }`,
  );
  try {
    const { cookie } = await signInForBench(gateway.issuer, gateway.google);
    const check = await fetch(`http://127.0.0.1:${withGateway}/`, { headers: { cookie } });
    if (check.status !== 200 || !check.headers.get('x-email'))
      throw new Error(`sanity check through nginx failed: HTTP ${check.status}`);
    const workers = childPids(nginx.pid);
    const nginxCpu = () => workers.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
    let requests = 0;
    let aloneRequests = 0;
    let gatewayCpu = 0;
    let viaNginxCpu = 0;
    let aloneCpu = 0;
    const measured = async (run: () => Promise<import('../bench-kit.ts').LoadResult>, alone: boolean) => {
      const [g0, n0] = [cpuSeconds(gateway.pid), nginxCpu()];
      const result = await run();
      const [g1, n1] = [cpuSeconds(gateway.pid), nginxCpu()];
      if (alone) {
        aloneCpu += n1 - n0;
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
        scenario: '2. nginx → auth_request → gateway → static page',
        a: { label: 'via gateway', runs: runs.aRuns },
        b: { label: 'auth_request to `return 204`', runs: runs.bRuns },
        goal: 'rps ≥ 0.6 × nginx alone',
        met: (a, b) => a.rps >= 0.6 * b.rps,
      },
    ];
  } finally {
    await nginx.stop();
    await gateway.stop();
    rmSync(site, { recursive: true, force: true });
  }
}
