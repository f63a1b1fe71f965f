/**
 * The gateway under benchmark, as an operator runs it: `node gateway/main.ts` in its own process,
 * configured by environment variables and a clients file, with the fake Google (needed only to
 * sign the benchmark user in) in the benchmark's process. Its RSS is the gateway's alone.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeGoogle } from '../tests/helpers/fake-google.ts';
import { freePort, UPSTREAM_CLIENT } from '../tests/helpers/start-gateway.ts';

export interface BenchGateway {
  issuer: string;
  google: string;
  pid: number;
  clientSecret: string;
  stop(): Promise<void>;
}

// A benchmark that fails part-way must not leave a gateway behind (it would hold the terminal's
// pipe open through its inherited stderr, and the port): whatever is still running goes at exit.
const running = new Set<import('node:child_process').ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startBenchGateway(env: Record<string, string> = {}): Promise<BenchGateway> {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const google = await startFakeGoogle({
    clients: [
      {
        client_id: UPSTREAM_CLIENT.id,
        client_secret: UPSTREAM_CLIENT.secret,
        redirect_uris: [`${issuer}/upstream/callback`],
      },
    ],
  });
  const dir = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
  const clientSecret = 'bench-app-secret-0123456789abcdef0123456789';
  // An API client whose access tokens may also be for the gateway's own origin (Bearer scenario).
  writeFileSync(
    join(dir, 'clients.json'),
    JSON.stringify([
      {
        client_id: 'bench-app',
        client_secret: clientSecret,
        redirect_uris: ['http://127.0.0.1:9/bench-app/callback'],
        grant_types: ['authorization_code', 'refresh_token'],
        first_party: true,
        resources: [issuer],
      },
    ]),
  );
  // The same command as `npm start` and the Dockerfile's CMD.
  const child = spawn(process.execPath, ['--max-semi-space-size=8', 'gateway/main.ts'], {
    env: {
      PATH: process.env['PATH'] ?? '',
      GATEWAY_ISSUER: issuer,
      GATEWAY_PORT: String(port),
      GATEWAY_STORE: 'memory://',
      GATEWAY_SECRETS: 'bench-secret-0123456789abcdef0123456789abcdef',
      GATEWAY_CLIENTS_FILE: join(dir, 'clients.json'),
      GATEWAY_LOG_LEVEL: process.env['BENCH_LOG_LEVEL'] ?? 'warn',
      GATEWAY_ACCESS_TOKEN_TTL: '3600',
      // the user was checked at sign-in; the refresh benchmark measures the gateway, not Google
      GATEWAY_UPSTREAM_RECHECK_INTERVAL: '86400',
      UPSTREAM_ISSUER: google.issuer,
      UPSTREAM_CLIENT_ID: UPSTREAM_CLIENT.id,
      UPSTREAM_CLIENT_SECRET: UPSTREAM_CLIENT.secret,
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  running.add(child);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('exit', () => running.delete(child));
  for (let i = 0; ; i += 1) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode} before it answered`);
    if (i > 200) throw new Error('the gateway did not answer /healthz within 20 s');
    const ok = await fetch(`${issuer}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    issuer,
    google: google.issuer,
    pid: child.pid ?? 0,
    clientSecret,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await google.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
