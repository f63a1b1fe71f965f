/**
 * What every benchmark scenario needs: servers in their own processes (so the load generator
 * and the server do not share an event loop), autocannon runs, and A/B interleaving.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';

export interface Spawned<T> {
  info: T;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `script` with Node (the pinned one) and waits for its first JSON line on stdout. */
export async function spawnServer<T>(script: string, env: Record<string, string> = {}): Promise<Spawned<T>> {
  const child = spawn(process.execPath, [script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout! });
  const info = await new Promise<T>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
    lines.once('line', (line) => resolve(JSON.parse(line) as T));
  });
  child.removeAllListeners('exit');
  return {
    info,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export interface LoadOptions {
  url: string;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: string;
  duration: number;
  connections?: number;
  /** Requests per connection per round trip (autocannon's pipelining). */
  pipelining?: number;
  /** Builds each request (e.g. a fresh refresh token); overrides headers/body per request. */
  setupRequest?: (request: Record<string, unknown>) => Record<string, unknown>;
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  const result = await autocannon({
    url: options.url,
    method: options.method ?? 'GET',
    headers: options.headers ?? {},
    ...(options.body === undefined ? {} : { body: options.body }),
    duration: options.duration,
    connections: options.connections ?? 50,
    pipelining: options.pipelining ?? 1,
    ...(options.setupRequest ? { requests: [{ setupRequest: options.setupRequest }] } : {}),
  } as autocannon.Options);
  const okCount = result['2xx'];
  return {
    rps: okCount / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

export interface Comparison {
  scenario: string;
  a: { label: string; runs: LoadResult[] };
  b: { label: string; runs: LoadResult[] };
  goal: string;
  /** Did the run meet the goal? */
  met: (a: LoadResult, b: LoadResult) => boolean;
}

const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / Math.max(values.length, 1);

/** The mean over the interleaved runs. */
export function summarise(runs: LoadResult[]): LoadResult {
  return {
    rps: mean(runs.map((r) => r.rps)),
    p50: mean(runs.map((r) => r.p50)),
    p99: mean(runs.map((r) => r.p99)),
    non2xx: runs.reduce((sum, r) => sum + r.non2xx, 0),
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

/** Runs A, B, A, B, … so both see the same machine (noise spreads over both). */
export async function interleave(rounds: number, a: () => Promise<LoadResult>, b: () => Promise<LoadResult>) {
  const aRuns: LoadResult[] = [];
  const bRuns: LoadResult[] = [];
  for (let round = 0; round < rounds; round += 1) {
    aRuns.push(await a());
    bRuns.push(await b());
  }
  return { aRuns, bRuns };
}
