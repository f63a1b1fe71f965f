/**
 * oidc Adapter operations per second on each store backend: upsert, find, consume, the three
 * calls behind every token oidc-provider issues and redeems. One process drives the Adapter
 * directly (no HTTP), at concurrency 1 (one call at a time: the round-trip cost) and at a
 * higher concurrency (calls in flight together, as under load: what the backend sustains).
 *
 *   node bench/store-adapter.ts                           # every backend, 2 s per figure
 *   node bench/store-adapter.ts --duration 5 --concurrency 1,64 --backends memory,redis
 *
 * Backends: memory, sqlite (a temp file), redis (a redis-server started for the run, no
 * persistence; or REDIS_URL if set, under a key prefix of its own, removed afterwards) and
 * redis-cluster (a local 3-master cluster, nodes configured alike, started for the run). Redis
 * servers come from Debian's redis-server and are torn down after. Prints a Markdown
 * section (command, machine, tables) on stdout; `benchStoreAdapter` returns the same text for
 * `npm run bench`.
 *
 * What each operation does underneath (see adapters/oidc-adapter.ts): upsert of a grant-bound
 * record = add to the grant's set + write the record (2 round trips, in sequence); find = read the
 * record and its consumption marker (2, in parallel); consume = read the record + SET NX the
 * marker (2, in sequence).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClient } from '@keyv/redis';
import type { Adapter, AdapterPayload } from 'oidc-provider';
import { createMemoryStore } from '../adapters/memory-store.ts';
import { createOidcAdapter } from '../adapters/oidc-adapter.ts';
import { createRedisStore } from '../adapters/redis-store.ts';
import { createSqliteStore } from '../adapters/sqlite-store.ts';
import type { Store } from '../adapters/store.ts';
import { createStoreSealing } from '../gateway/keys/store-sealing.ts';
import { startRedisCluster, startRedisServer } from '../tests/helpers/redis-server.ts';

export const STORE_BACKENDS = ['memory', 'sqlite', 'redis', 'redis-cluster'] as const;
export type StoreBackend = (typeof STORE_BACKENDS)[number];

export interface StoreAdapterBenchOptions {
  /** Seconds per figure. */
  duration: number;
  /** Calls in flight at once, one table each. */
  concurrency: number[];
  backends: StoreBackend[];
  /** An existing Redis for the `redis` backend (under a prefix of its own); default a server started for the run. */
  redisUrl?: string | undefined;
}

interface Figure {
  opsPerSecond: number;
  p50: number;
  p99: number;
}

type Operation = 'upsert' | 'find' | 'consume';
const OPERATIONS: Operation[] = ['upsert', 'find', 'consume'];

interface Opened {
  store: Store;
  close(): Promise<void>;
}

async function deleteRedisPrefix(url: string, prefix: string): Promise<void> {
  const raw = createClient({ url, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
  raw.on('error', () => {});
  await raw.connect();
  try {
    for await (const keys of raw.scanIterator({ MATCH: `${prefix}*`, COUNT: 1_000 })) {
      if (keys.length > 0) await raw.del(keys);
    }
  } finally {
    await raw.close();
  }
}

async function openBackend(backend: StoreBackend, redisUrl: string | undefined): Promise<Opened> {
  switch (backend) {
    case 'memory': {
      const store = createMemoryStore();
      return { store, close: () => store.close() };
    }
    case 'sqlite': {
      const dir = mkdtempSync(join(tmpdir(), 'bench-sqlite-'));
      const store = createSqliteStore(join(dir, 'bench.sqlite'));
      return {
        store,
        async close() {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    case 'redis': {
      if (redisUrl === undefined) {
        // A server of its own, configured as the cluster's nodes are: the two compare like for like.
        const server = await startRedisServer();
        const store = await createRedisStore(server.url, { prefix: 'bench:' });
        return {
          store,
          async close() {
            await store.close();
            await server.close();
          },
        };
      }
      const prefix = `bench:store:${randomUUID()}:`;
      const store = await createRedisStore(redisUrl, { prefix }).catch((error: Error) => {
        throw new Error(`the redis backend needs a Redis at ${redisUrl} (REDIS_URL): ${error.message}`, {
          cause: error,
        });
      });
      return {
        store,
        async close() {
          await store.close();
          await deleteRedisPrefix(redisUrl, prefix);
        },
      };
    }
    case 'redis-cluster': {
      const cluster = await startRedisCluster({ masters: 3 });
      const store = await createRedisStore(cluster.url, { prefix: 'bench:' });
      return {
        store,
        async close() {
          await store.close();
          await cluster.close();
        },
      };
    }
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0);
}

/**
 * Runs `call(i)` from `concurrency` loops for `durationMs` (or until `limit` calls were started)
 * and measures each call.
 */
async function drive(
  concurrency: number,
  durationMs: number,
  limit: number,
  call: (i: number) => Promise<unknown>,
): Promise<Figure & { count: number }> {
  const latencies: number[] = [];
  let started = 0;
  const begin = performance.now();
  const end = begin + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end && started < limit) {
        const i = started;
        started += 1;
        const t = performance.now();
        await call(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const elapsed = (performance.now() - begin) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    count: latencies.length,
    opsPerSecond: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
  };
}

function codePayload(grantId: string): AdapterPayload {
  return {
    kind: 'AuthorizationCode',
    grantId,
    accountId: 'bench-user',
    clientId: 'bench-app',
    scope: 'openid email profile',
    redirectUri: 'https://app.example.com/callback',
    codeChallenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM',
    codeChallengeMethod: 'S256',
    iat: Math.floor(Date.now() / 1000),
    exp: Math.floor(Date.now() / 1000) + 600,
  };
}

/** upsert, then find over what was written, then consume each written record once. */
async function measure(store: Store, concurrency: number, durationMs: number): Promise<Record<Operation, Figure>> {
  const codes: Adapter = createOidcAdapter(store, createStoreSealing(randomBytes(32)))('AuthorizationCode');
  const ids: string[] = [];
  // A few records per grant, as one sign-in writes (code, access token, refresh token): the
  // grant's set stays small, as it does in use.
  const run = randomUUID();
  const upsert = await drive(concurrency, durationMs, Number.POSITIVE_INFINITY, async (i) => {
    const id = randomUUID();
    ids.push(id);
    await codes.upsert(id, codePayload(`${run}:${Math.floor(i / 4)}`), 600);
  });
  const find = await drive(concurrency, durationMs, Number.POSITIVE_INFINITY, async (i) => {
    if (!(await codes.find(ids[(i * 7919) % ids.length] ?? ''))) throw new Error('find lost a record');
  });
  // Each record can be consumed once: as many calls as records were written.
  const consume = await drive(concurrency, durationMs, ids.length, async (i) => {
    await codes.consume(ids[i] ?? '');
  });
  return { upsert, find, consume };
}

const fmt = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Runs the benchmark and returns its Markdown section. */
export async function benchStoreAdapter(options: StoreAdapterBenchOptions): Promise<string> {
  const results = new Map<StoreBackend, Map<number, Record<Operation, Figure>>>();
  for (const backend of options.backends) {
    const opened = await openBackend(backend, options.redisUrl);
    try {
      const perConcurrency = new Map<number, Record<Operation, Figure>>();
      // A short warm-up: JIT, connection, SQLite page cache.
      await measure(opened.store, 8, 200);
      for (const concurrency of options.concurrency) {
        perConcurrency.set(concurrency, await measure(opened.store, concurrency, options.duration * 1000));
      }
      results.set(backend, perConcurrency);
    } finally {
      await opened.close();
    }
  }

  const command = `node bench/store-adapter.ts --duration ${options.duration} --concurrency ${options.concurrency.join(',')} --backends ${options.backends.join(',')}`;
  const cpu = cpus();
  const lines = [
    '## Store adapter: operations per second',
    '',
    `Measured by \`${command}\` on ${new Date().toISOString().slice(0, 10)}: ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown CPU'}), Node.js ${process.version}; Redis ${options.redisUrl === undefined ? 'servers started for the run (no persistence)' : 'at REDIS_URL'}, on loopback.`,
    `oidc-provider's Adapter called directly (no HTTP), ${options.duration} s per figure; AuthorizationCode records, four to a grant. Each cell: operations/s, then p50 / p99 latency in ms.`,
    "One process drives the Adapter and the Redis client alike, so the Redis figures are bounded by this process's CPU as much as by Redis; the machine is shared and noisy (±30 %).",
  ];
  for (const concurrency of options.concurrency) {
    lines.push(
      '',
      `Concurrency ${concurrency} (${concurrency === 1 ? 'one call at a time: the cost of a round trip' : 'calls in flight together, as under load'}):`,
      '',
    );
    lines.push('| backend | upsert | find | consume |', '| --- | --- | --- | --- |');
    for (const [backend, perConcurrency] of results) {
      const figures = perConcurrency.get(concurrency);
      if (!figures) continue;
      const cells = OPERATIONS.map(
        (op) => `${fmt(figures[op].opsPerSecond)} (${fmt(figures[op].p50, 2)} / ${fmt(figures[op].p99, 2)})`,
      );
      lines.push(`| ${backend} | ${cells.join(' | ')} |`);
    }
  }
  return `${lines.join('\n')}\n`;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string', default: '2' },
      concurrency: { type: 'string', default: '1,50' },
      backends: { type: 'string', default: STORE_BACKENDS.join(',') },
    },
  });
  const backends = values.backends
    .split(',')
    .map((name) => name.trim())
    .filter(Boolean);
  const unknown = backends.filter((name) => !(STORE_BACKENDS as readonly string[]).includes(name));
  if (unknown.length > 0) {
    console.error(`unknown backend(s) ${unknown.join(', ')}; known: ${STORE_BACKENDS.join(', ')}`);
    process.exit(2);
  }
  const markdown = await benchStoreAdapter({
    duration: Number(values.duration),
    concurrency: values.concurrency
      .split(',')
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0),
    backends: backends as StoreBackend[],
    redisUrl: process.env['REDIS_URL'],
  });
  process.stdout.write(markdown);
}
