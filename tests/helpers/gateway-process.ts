/**
 * The gateway as a real process (`node gateway/main.ts`, as `npm start` and the Docker image run
 * it), configured by environment variables only, for tests that need what only a process has:
 * signals, SIGKILL in the middle of a request (what an OOM kill, a node drain or a crash does), a
 * restart on the same port. Its JSON log lines are
 * parsed into `logs`. An exit hook kills whatever is still running should the test die before it
 * stops its processes, so no gateway outlives the test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';

/** The repository root: where `gateway/main.ts` and `bin/gateway.ts` are. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const START_TIMEOUT_MS = 20_000;

/** Children still running, killed on exit should a test die before its cleanup. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Milliseconds from the first {@link GatewayProcess.signal} to the exit (-1 if never signalled). */
  ms: number;
}

export interface GatewayProcess {
  port: number;
  /** `http://127.0.0.1:<port>`: the instance itself, not necessarily the issuer. */
  url: string;
  child: ChildProcess;
  /** Parsed JSON log lines from stdout so far. */
  logs: Array<Record<string, unknown>>;
  exited: Promise<ProcessExit>;
  /** Sends a signal (the first one starts the clock of `exited.ms`). */
  signal(signal: NodeJS.Signals): void;
  /** SIGKILL if still running (nothing runs after it: no shutdown, no store close), and waits for the exit. */
  kill(): Promise<void>;
}

/**
 * Starts `node gateway/main.ts` with `env` (and PATH, GATEWAY_HOST=127.0.0.1, GATEWAY_PORT) on
 * `port` or a free one, and resolves once `/healthz` answers; throws if it exits first.
 */
export async function startGatewayProcess(env: Record<string, string>, port?: number): Promise<GatewayProcess> {
  const listen = port ?? (await freePort());
  const child = spawn(process.execPath, ['gateway/main.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env['PATH'] ?? '',
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_LOG_LEVEL: 'info',
      ...env,
      GATEWAY_PORT: String(listen),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const logs: Array<Record<string, unknown>> = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line (the development banner)
      }
      newline = buffered.indexOf('\n');
    }
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
  });
  let signalledAt = 0;
  const exited = new Promise<ProcessExit>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      resolve({ code, signal, ms: signalledAt ? Date.now() - signalledAt : -1 });
    });
  });
  const started: GatewayProcess = {
    port: listen,
    url: `http://127.0.0.1:${listen}`,
    child,
    logs,
    exited,
    signal(signal) {
      signalledAt ||= Date.now();
      child.kill(signal);
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the gateway exited with ${child.exitCode} before answering: ${stderr.trim()}`);
    const ok = await fetch(`${started.url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return started;
    if (Date.now() > deadline) {
      await started.kill();
      throw new Error(`the gateway did not answer /healthz within ${START_TIMEOUT_MS} ms: ${stderr.trim()}`);
    }
    await sleep(50);
  }
}
