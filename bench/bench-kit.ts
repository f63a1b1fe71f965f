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
  const child = spawn(process.execPath, [script], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
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

/**
 * Load where each request depends on the previous answer (a refresh token rotates on every use):
 * `chains` independent chains, one request in flight per chain, each chain's next request built
 * from its last answer. `seeds` is updated in place, so a later round continues the chains.
 */
export async function chainedLoad(options: {
  origin: string;
  path: string;
  headers: Record<string, string>;
  seeds: string[];
  duration: number;
  body: (seed: string) => string;
  next: (answer: Record<string, unknown>) => string;
}): Promise<LoadResult> {
  const { Pool } = await import('undici');
  const pool = new Pool(options.origin, { connections: options.seeds.length, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const deadline = Date.now() + options.duration * 1000;
  const started = Date.now();
  await Promise.all(
    options.seeds.map(async (_seed, index) => {
      while (Date.now() < deadline) {
        const t0 = performance.now();
        const response = await pool.request({
          method: 'POST',
          path: options.path,
          headers: options.headers,
          body: options.body(options.seeds[index] ?? ''),
        });
        const answer = (await response.body.json()) as Record<string, unknown>;
        if (response.statusCode !== 200) {
          if (errors === 0)
            process.stderr.write(
              `bench: chain broken by HTTP ${response.statusCode}: ${JSON.stringify(answer).slice(0, 200)}\n`,
            );
          errors += 1;
          return; // a broken chain stays broken
        }
        latencies.push(performance.now() - t0);
        options.seeds[index] = options.next(answer);
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), non2xx: errors, errors: 0 };
}
