/**
 * The gateway under benchmark, as the README's production section sets it up and `npm start`
 * runs it: `node dist/gateway/main.js` (built from the sources first, as its prestart does) in its
 * own process with `NODE_ENV=production`, a Redis store (a redis-server started for it, with the
 * append-only file the README asks for), a random GATEWAY_SECRETS, a clients file, and every other setting at its default: the default log level,
 * the default limits, the default token lifetimes and upstream re-check interval. Its stdout and
 * stderr are pipes this process drains (as a log shipper or journald would), never /dev/null.
 * The fake Google (needed only to sign the benchmark user in) runs in the benchmark's process,
 * so the gateway's RSS and CPU are its own.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeGoogle } from '../tests/helpers/fake-google.ts';
import { freePort, UPSTREAM_CLIENT } from '../tests/helpers/start-gateway.ts';
import { build } from '../scripts/build.ts';
import { startProductionRedis } from './production-redis.ts';

/** What the gateway wrote while it ran: every line was read off its pipes. */
export interface GatewayLog {
  lines: number;
  bytes: number;
  /** Lines at level warn or above (pino: 40+), or anything on stderr; the first few, as written. */
  warnings: string[];
  warningCount: number;
}

export interface BenchGateway {
  issuer: string;
  google: string;
  pid: number;
  clientSecret: string;
  /** The store URL the gateway runs on. */
  store: string;
  log: GatewayLog;
  stop(): Promise<void>;
}

export interface BenchGatewayOptions {
  /** Settings a scenario needs (GATEWAY_REDIRECT_DOMAINS for nginx's host), or a tuned column's. */
  env?: Record<string, string>;
  /** A store to use instead of a Redis of its own (the stored-sessions scenario fills its own). */
  store?: string;
  /** More clients for the clients file (a scenario's machine or device client). */
  clients?: object[];
}

// A benchmark that fails part-way must not leave a gateway behind (it would hold the port):
// whatever is still running goes at exit.
const running = new Set<import('node:child_process').ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

const KEEP_WARNINGS = 5;

/** `npm start`'s command, read from package.json (its prestart, `node scripts/build.ts`, is build()). */
export const START_COMMAND = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { scripts: { start: string } }
).scripts.start
  .replace(/^exec /, '')
  .split(' ')
  .slice(1);
/** dist/ is built once per bench run, from the sources as they are. */
let built = false;

/** The logs of every gateway started in this run, for the report. */
export const gatewayLogs: GatewayLog[] = [];

export async function startBenchGateway(options: BenchGatewayOptions = {}): Promise<BenchGateway> {
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
  const redis = options.store === undefined ? await startProductionRedis() : undefined;
  const store = options.store ?? redis?.url ?? '';
  const dir = mkdtempSync(join(tmpdir(), 'bench-gateway-'));
  // the secret tests/helpers/relying-party.ts's confidentialClient('bench-app') signs in with
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
      ...(options.clients ?? []),
    ]),
  );
  // The same command as `npm start` (after its prestart build) and the Dockerfile's CMD; only
  // what the README's production section sets (UPSTREAM_ISSUER stands in for Google, which the
  // README allows for a trial).
  if (!built) {
    build();
    built = true;
  }
  // BENCH_NODE_FLAGS: Node flags for each gateway, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`
  // (what docs/PERFORMANCE.md's profiles come from; bench/profile-summary.ts reads them).
  const profile = (process.env['BENCH_NODE_FLAGS'] ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...profile, ...START_COMMAND], {
    env: {
      PATH: process.env['PATH'] ?? '',
      NODE_ENV: 'production',
      GATEWAY_ISSUER: issuer,
      GATEWAY_PORT: String(port),
      GATEWAY_STORE: store,
      GATEWAY_SECRETS: randomBytes(32).toString('base64'),
      GATEWAY_CLIENTS_FILE: join(dir, 'clients.json'),
      UPSTREAM_ISSUER: google.issuer,
      UPSTREAM_CLIENT_ID: UPSTREAM_CLIENT.id,
      UPSTREAM_CLIENT_SECRET: UPSTREAM_CLIENT.secret,
      ...options.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const log: GatewayLog = { lines: 0, bytes: 0, warnings: [], warningCount: 0 };
  gatewayLogs.push(log);
  const drain = (stream: NodeJS.ReadableStream, isStderr: boolean) => {
    let partial = '';
    stream.on('data', (chunk: Buffer) => {
      log.bytes += chunk.length;
      const text = partial + chunk.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        log.lines += 1;
        const level = Number(/"level":(\d+)/.exec(line)?.[1] ?? (isStderr ? 50 : 30));
        if (level >= 40) {
          log.warningCount += 1;
          if (log.warnings.length < KEEP_WARNINGS) log.warnings.push(line.slice(0, 300));
        }
      }
    });
  };
  drain(child.stdout!, false);
  drain(child.stderr!, true);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('exit', () => running.delete(child));
  try {
    for (let i = 0; ; i += 1) {
      if (child.exitCode !== null)
        throw new Error(`the gateway exited with ${child.exitCode} before it answered: ${log.warnings.join('\n')}`);
      if (i > 200) throw new Error('the gateway did not answer /readyz within 20 s');
      const ok = await fetch(`${issuer}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch (error) {
    child.kill('SIGKILL');
    await google.close();
    await redis?.close();
    throw error;
  }
  return {
    issuer,
    google: google.issuer,
    pid: child.pid ?? 0,
    clientSecret,
    store,
    log,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      await google.close();
      await redis?.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
