/**
 * A gateway as its own process (`node gateway/main.ts`, as `npm start` runs it), for tests that
 * kill one with SIGKILL mid-request: what an OOM kill, a node drain or a crash does. Settings come
 * from the environment only (nothing of the test's own), logs are collected as parsed JSON lines,
 * and an exit hook kills whatever is still running should the test die before its cleanup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from './free-port.ts';

/** The repository root: where `gateway/main.ts` and `bin/gateway.ts` are. */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface GatewayProcess {
  /** `http://127.0.0.1:<port>`: where this process listens (its issuer may be another URL). */
  url: string;
  port: number;
  /** Parsed JSON log lines from its stdout so far. */
  logs: Array<Record<string, unknown>>;
  /** Sends SIGKILL (nothing runs after it: no shutdown, no store close) and waits for the exit. */
  kill(): Promise<void>;
}

/**
 * Starts `node gateway/main.ts` on a free port with `env` (plus PATH, host and port), and
 * resolves once it answers `/healthz`; `nodeArgs` go before the script (e.g. `--import`).
 */
export async function startGatewayProcess(env: Record<string, string>, nodeArgs: string[] = []): Promise<GatewayProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeArgs, 'gateway/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env['PATH'] ?? '', GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: String(port), GATEWAY_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => {
    running.delete(child);
    resolve();
  }));
  const logs: Array<Record<string, unknown>> = [];
  let buffered = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
      const line = buffered.slice(0, newline);
      buffered = buffered.slice(newline + 1);
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-2_000);
  });
  const url = `http://127.0.0.1:${port}`;
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`the gateway process exited with ${child.exitCode} before answering: ${stderr.trim()}`);
    if (await fetch(`${url}/healthz`).then((response) => response.ok, () => false)) break;
    if (Date.now() > deadline) {
      await kill();
      throw new Error(`the gateway process did not answer /healthz within 20 s: ${stderr.trim()}`);
    }
    await sleep(100);
  }
  return { url, port, logs, kill };
}
