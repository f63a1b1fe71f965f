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
  /** Answers that were not 2xx (every scenario expects 2xx only). */
  non2xx: number;
  /** Connection errors and timeouts (autocannon's `errors` counts both). */
  errors: number;
  /** What went wrong, counted: `HTTP 502`, `ECONNRESET`, `request timed out`, … */
  problems?: Record<string, number>;
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
  const problems: Record<string, number> = {};
  const count = (what: string) => {
    problems[what] = (problems[what] ?? 0) + 1;
  };
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        method: options.method ?? 'GET',
        headers: options.headers ?? {},
        ...(options.body === undefined ? {} : { body: options.body }),
        duration: options.duration,
        connections: options.connections ?? 50,
        pipelining: options.pipelining ?? 1,
        ...(options.setupRequest ? { requests: [{ setupRequest: options.setupRequest }] } : {}),
      } as autocannon.Options,
      (error, done) => (error ? reject(error) : resolve(done)),
    );
    instance.on('reqError', (error: Error & { code?: string }) => count(error.code ?? error.message));
    instance.on('response', (_client: unknown, status: number) => {
      if (status < 200 || status > 299) count(`HTTP ${status}`);
    });
  });
  return {
    rps: result['2xx'] / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    problems,
  };
}

/** Every run's problems, one line, or '' when there were none. */
export function describeProblems(runs: LoadResult[]): string {
  const all: Record<string, number> = {};
  for (const run of runs) for (const [what, n] of Object.entries(run.problems ?? {})) all[what] = (all[what] ?? 0) + n;
  return Object.entries(all)
    .map(([what, n]) => `${n} × ${what}`)
    .join(', ');
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
  const [aRuns = [], bRuns = []] = await interleaveAll(rounds, [a, b]);
  return { aRuns, bRuns };
}

/** Runs A, B, C, A, B, C, …: every side sees the same machine; the runs of each side, in order. */
export async function interleaveAll(rounds: number, sides: (() => Promise<LoadResult>)[]): Promise<LoadResult[][]> {
  const runs: LoadResult[][] = sides.map(() => []);
  for (let round = 0; round < rounds; round += 1) {
    for (const [index, side] of sides.entries()) runs[index]?.push(await side());
  }
  return runs;
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
  const problems: Record<string, number> = {};
  let failures = 0;
  let errors = 0;
  const deadline = Date.now() + options.duration * 1000;
  const started = Date.now();
  await Promise.all(
    options.seeds.map(async (_seed, index) => {
      while (Date.now() < deadline) {
        const t0 = performance.now();
        let status: number;
        let answer: Record<string, unknown>;
        try {
          const response = await pool.request({
            method: 'POST',
            path: options.path,
            headers: options.headers,
            body: options.body(options.seeds[index] ?? ''),
          });
          status = response.statusCode;
          answer = (await response.body.json()) as Record<string, unknown>;
        } catch (error) {
          errors += 1;
          const what = (error as { code?: string }).code ?? String(error);
          problems[what] = (problems[what] ?? 0) + 1;
          return; // the refresh token's fate is unknown: this chain ends
        }
        if (status !== 200) {
          const what = `HTTP ${status} ${String(answer['error'] ?? '')}`.trim();
          if (!problems[what])
            process.stderr.write(`bench: chain broken by HTTP ${status}: ${JSON.stringify(answer).slice(0, 200)}\n`);
          problems[what] = (problems[what] ?? 0) + 1;
          failures += 1;
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
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), non2xx: failures, errors, problems };
}

/**
 * Load made of rounds of several requests (a device authorization, then its first poll):
 * `workers` rounds in flight, each `round` returning true when every answer was the one
 * expected (not necessarily 2xx: a pending device answers 400 `authorization_pending`), or a
 * short description of what came instead. Rounds per second, and each round's latency.
 */
export async function roundLoad(options: {
  origin: string;
  workers: number;
  duration: number;
  round: (pool: import('undici').Pool, worker: number, n: number) => Promise<true | string>;
}): Promise<LoadResult> {
  const { Pool } = await import('undici');
  const pool = new Pool(options.origin, { connections: options.workers, pipelining: 1 });
  const latencies: number[] = [];
  const problems: Record<string, number> = {};
  let failures = 0;
  let errors = 0;
  const deadline = Date.now() + options.duration * 1000;
  const started = Date.now();
  let n = 0;
  await Promise.all(
    Array.from({ length: options.workers }, async (_unused, worker) => {
      while (Date.now() < deadline) {
        const t0 = performance.now();
        let outcome: true | string;
        try {
          outcome = await options.round(pool, worker, n++);
        } catch (error) {
          errors += 1;
          const what = (error as { code?: string }).code ?? String(error);
          problems[what] = (problems[what] ?? 0) + 1;
          continue;
        }
        if (outcome !== true) {
          if (!problems[outcome]) process.stderr.write(`bench: unexpected answer in a round: ${outcome}\n`);
          problems[outcome] = (problems[outcome] ?? 0) + 1;
          failures += 1;
          continue;
        }
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = (Date.now() - started) / 1000;
  await pool.close();
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return { rps: latencies.length / elapsed, p50: at(0.5), p99: at(0.99), non2xx: failures, errors, problems };
}
