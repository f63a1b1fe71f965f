/**
 * Throwaway Redis servers for tests: Debian's `redis-server` (installed by .ci/run) started on
 * free 127.0.0.1 ports in a temp directory, `daemonize no`, stopped and removed by the test. A
 * single server (for outages: stop it, start it again on the same port and data) or a real
 * Redis Cluster of N masters, optionally each with one replica, formed by hand with CLUSTER
 * ADDSLOTSRANGE + MEET (+ REPLICATE), which is about three times faster than `redis-cli
 * --cluster create` (that one sleeps a second while the nodes join). A missing binary or a
 * server that will not start fails loudly; nothing skips.
 *
 * If the test process dies before cleaning up, an exit hook kills what this file started, so no
 * redis-server outlives the test run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from '@keyv/redis';
import { freePort } from './free-port.ts';

/** The binary; REDIS_SERVER overrides it. */
export const REDIS_SERVER = process.env['REDIS_SERVER'] ?? 'redis-server';

const START_TIMEOUT_MS = 10_000;
const CLUSTER_SLOTS = 16_384;

/** Children still running, killed on exit should a test die before its cleanup. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** One redis-server process that can be stopped and started again on the same port and data. */
export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:<port>` */
  url: string;
  /** Its working directory (AOF, nodes.conf, redis.log). */
  dir: string;
  /** Starts it (again): resolves once it answers PING, i.e. after it has loaded its AOF. */
  start(): Promise<void>;
  /** SIGTERM (Redis flushes its AOF and exits) and waits for the exit. */
  stop(): Promise<void>;
  /** SIGKILL, as a crash or an OOM kill ends it (nothing flushed), and waits for the exit. */
  kill(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

export interface RedisServerOptions {
  /** Persistence: `appendonly yes` with `appendfsync always`, so a stop loses no write. */
  appendOnly?: boolean;
  /** Extra `--name value` arguments. */
  args?: string[];
  /** Directory to run in (created); default a fresh temp directory, removed by close(). */
  dir?: string;
  port?: number;
}

/** Sends PING over a raw socket: true on +PONG (an AOF still loading answers -LOADING). */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1');
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.on('error', () => done(false));
  });
}

function logTail(dir: string): string {
  try {
    return readFileSync(join(dir, 'redis.log'), 'utf8').trim().split('\n').slice(-5).join('\n');
  } catch {
    return '(no redis.log)';
  }
}

/** Starts a redis-server and resolves once it answers; see {@link RedisServerOptions}. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'gateway-redis-'));
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--logfile',
    join(dir, 'redis.log'),
    '--daemonize',
    'no',
    '--save',
    '',
    ...(options.appendOnly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']),
    ...(options.args ?? []),
  ];
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    if (child && child.exitCode === null) throw new Error(`redis-server on ${port} is already running`);
    const started = spawn(REDIS_SERVER, args, { stdio: 'ignore' });
    child = started;
    running.add(started);
    const failed = new Promise<Error>((resolve) => {
      started.once('error', (error: NodeJS.ErrnoException) => {
        resolve(
          error.code === 'ENOENT'
            ? new Error(
                `${REDIS_SERVER} is not installed: these tests start their own Redis servers (apt-get install redis-server; .ci/run does it) or set REDIS_SERVER`,
              )
            : error,
        );
      });
      started.once('exit', (code, signal) => {
        running.delete(started);
        resolve(new Error(`redis-server on ${port} exited (${code ?? signal}) while starting: ${logTail(dir)}`));
      });
    });
    let failure: Error | undefined;
    void failed.then((error) => {
      failure = error;
    });
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!(await pong(port))) {
      if (failure) throw failure;
      if (Date.now() > deadline)
        throw new Error(`redis-server on ${port} did not answer within ${START_TIMEOUT_MS} ms: ${logTail(dir)}`);
      await sleep(20);
    }
  }

  async function stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill(signal);
    const killTimer = setTimeout(() => current.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killTimer);
    running.delete(current);
  }

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    start,
    stop: () => stop(),
    kill: () => stop('SIGKILL'),
    async close() {
      await stop();
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A local Redis Cluster: masters, and optionally one replica of each. */
export interface RedisCluster {
  /** The masters, as formed (after a failover, a replica may have taken one's place). */
  nodes: RedisServer[];
  /** `replicas[i]` replicates `nodes[i]`; empty without replicas. */
  replicas: RedisServer[];
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…` (the masters), the gateway's store URL for it. */
  url: string;
  /** Stops every node and removes the directory. */
  close(): Promise<void>;
}

/** One command on a fresh connection to the node at `port`, its reply as a string. */
export async function redisCommand(port: number, args: string[]): Promise<string> {
  const client = createClient({
    url: `redis://127.0.0.1:${port}`,
    socket: { reconnectStrategy: false, connectTimeout: 1_000 },
  });
  client.on('error', () => {});
  await client.connect();
  try {
    return String(await client.sendCommand(args));
  } finally {
    client.destroy();
  }
}

/** A `name:value` field of an INFO or CLUSTER INFO reply. */
export function infoField(info: string, name: string): string | undefined {
  return new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]?.trim();
}

/**
 * Starts `masters` cluster-enabled servers (each with its own data port and bus port, both free:
 * the default bus port, port + 10000, may be out of range or taken), gives each an equal slot
 * range and a distinct config epoch, introduces them with CLUSTER MEET, and resolves once every
 * node reports `cluster_state:ok`. With `replicas: true`, each master gets one replica (CLUSTER
 * REPLICATE), and it resolves once every replica has synced (`master_link_status:up`): killing
 * a master then makes its replica take over after `nodeTimeoutMs` plus an election (about a
 * second more), as in production.
 */
export async function startRedisCluster(
  options: { masters?: number; replicas?: boolean; nodeTimeoutMs?: number } = {},
): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const total = options.replicas ? masters * 2 : masters;
  const dir = mkdtempSync(join(tmpdir(), 'gateway-redis-cluster-'));
  const all: RedisServer[] = [];
  try {
    // Ports first (all distinct), then the servers in parallel: each master waits 2 s after its
    // start before it declares the cluster ok (CLUSTER_WRITABLE_DELAY), so that wait overlaps.
    const ports = new Set<number>();
    while (ports.size < total * 2) ports.add(await freePort());
    const [dataPorts, busPorts] = [[...ports].slice(0, total), [...ports].slice(total)];
    const started = await Promise.allSettled(
      dataPorts.map((port, i) =>
        startRedisServer({
          port,
          dir: join(dir, `node-${i}`),
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-port',
            String(busPorts[i]),
            '--cluster-config-file',
            'nodes.conf',
            '--cluster-node-timeout',
            String(options.nodeTimeoutMs ?? 2_000),
            // A replica's first sync would otherwise wait 5 s for more replicas to share it.
            '--repl-diskless-sync-delay',
            '0',
          ],
        }),
      ),
    );
    for (const result of started) if (result.status === 'fulfilled') all.push(result.value);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    const per = Math.ceil(CLUSTER_SLOTS / masters);
    await Promise.all(
      all.slice(0, masters).map(async (node, i) => {
        // Distinct epochs, as redis-cli --cluster create sets them: no epoch collision to resolve.
        await redisCommand(node.port, ['CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1)]);
        await redisCommand(node.port, [
          'CLUSTER',
          'ADDSLOTSRANGE',
          String(i * per),
          String(Math.min((i + 1) * per, CLUSTER_SLOTS) - 1),
        ]);
      }),
    );
    const first = all[0];
    if (!first) throw new Error('a cluster needs at least one master');
    for (let i = 1; i < all.length; i += 1) {
      await redisCommand(first.port, ['CLUSTER', 'MEET', '127.0.0.1', String(all[i]?.port), String(busPorts[i])]);
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    const until = async (
      what: string,
      ready: (node: RedisServer, i: number) => Promise<boolean>,
      nodes: RedisServer[],
    ) => {
      for (;;) {
        if ((await Promise.all(nodes.map(ready))).every(Boolean)) return;
        if (Date.now() > deadline)
          throw new Error(`the Redis cluster did not reach ${what} within ${START_TIMEOUT_MS} ms`);
        await sleep(20);
      }
    };
    // A replica can follow only a master it knows: every node first sees every other.
    await until(
      `cluster_known_nodes:${total}`,
      async (node) =>
        infoField(await redisCommand(node.port, ['CLUSTER', 'INFO']), 'cluster_known_nodes') === String(total),
      all,
    );
    if (options.replicas) {
      const ids = await Promise.all(all.slice(0, masters).map((node) => redisCommand(node.port, ['CLUSTER', 'MYID'])));
      await Promise.all(
        all.slice(masters).map((replica, i) => redisCommand(replica.port, ['CLUSTER', 'REPLICATE', ids[i] ?? ''])),
      );
      await until(
        'synced replicas',
        async (replica) =>
          infoField(await redisCommand(replica.port, ['INFO', 'replication']), 'master_link_status') === 'up',
        all.slice(masters),
      );
    }
    await until(
      'cluster_state:ok',
      async (node) => infoField(await redisCommand(node.port, ['CLUSTER', 'INFO']), 'cluster_state') === 'ok',
      all,
    );
  } catch (error) {
    await Promise.all(all.map((node) => node.stop()));
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const nodes = all.slice(0, masters);
  return {
    nodes,
    replicas: all.slice(masters),
    url: `redis+cluster://${nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}`,
    async close() {
      await Promise.all(all.map((node) => node.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
