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

export async function nginxScenario(options: { duration: number; rounds: number }): Promise<Comparison[]> {
  const gateway = await startBenchGateway();
  const site = mkdtempSync(join(tmpdir(), 'bench-site-'));
  writeFileSync(join(site, 'index.html'), '<!doctype html><title>protected</title><p>hello</p>\n');
  const [withGateway, alone] = [await freePort(), await freePort()];
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
    if (check.status !== 200 || !check.headers.get('x-email')) throw new Error(`sanity check through nginx failed: HTTP ${check.status}`);
    const runs = await interleave(
      options.rounds,
      () => load({ url: `http://127.0.0.1:${withGateway}/`, headers: { cookie }, duration: options.duration }),
      () => load({ url: `http://127.0.0.1:${alone}/`, headers: { cookie }, duration: options.duration }),
    );
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
