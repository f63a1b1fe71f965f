/**
 * Throwaway Redis servers for tests: Debian's `redis-server` (installed by .ci/run) started on
 * free 127.0.0.1 ports in a temp directory, `daemonize no`, stopped and removed by the test. A
 * single server (for outages: stop it, start it again on the same port and data) or a real
 * Redis Cluster of N masters, formed by hand with CLUSTER ADDSLOTSRANGE + MEET, which is about
 * three times faster than `redis-cli --cluster create` (that one sleeps a second while the
 * nodes join). A missing binary or a server that will not start fails loudly; nothing skips.
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
    '--port', String(port),
    '--bind', '127.0.0.1',
    '--dir', dir,
    '--logfile', join(dir, 'redis.log'),
    '--daemonize', 'no',
    '--save', '',
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
        resolve(error.code === 'ENOENT'
          ? new Error(`${REDIS_SERVER} is not installed: these tests start their own Redis servers (apt-get install redis-server; .ci/run does it) or set REDIS_SERVER`)
          : error);
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
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer within ${START_TIMEOUT_MS} ms: ${logTail(dir)}`);
      await sleep(20);
    }
  }

  async function stop(): Promise<void> {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill('SIGTERM');
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
    stop,
    async close() {
      await stop();
      if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A local Redis Cluster of masters only (no replicas). */
export interface RedisCluster {
  nodes: RedisServer[];
  /** `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,…`, the gateway's store URL for it. */
  url: string;
  /** Stops every node and removes the directory. */
  close(): Promise<void>;
}

async function command(port: number, args: string[]): Promise<string> {
  const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false, connectTimeout: 1_000 } });
  client.on('error', () => {});
  await client.connect();
  try {
    return String(await client.sendCommand(args));
  } finally {
    client.destroy();
  }
}

/**
 * Starts `masters` cluster-enabled servers (each with its own data port and bus port, both free:
 * the default bus port, port + 10000, may be out of range or taken), gives each an equal slot
 * range and a distinct config epoch, introduces them with CLUSTER MEET, and resolves once every
 * node reports `cluster_state:ok`.
 */
export async function startRedisCluster(options: { masters?: number; nodeTimeoutMs?: number } = {}): Promise<RedisCluster> {
  const masters = options.masters ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'gateway-redis-cluster-'));
  const nodes: RedisServer[] = [];
  const busPorts: number[] = [];
  try {
    // Ports first (all distinct), then the servers in parallel: each master waits 2 s after its
    // start before it declares the cluster ok (CLUSTER_WRITABLE_DELAY), so that wait overlaps.
    const ports = new Set<number>();
    while (ports.size < masters * 2) ports.add(await freePort());
    const [dataPorts, bus] = [[...ports].slice(0, masters), [...ports].slice(masters)];
    busPorts.push(...bus);
    const started = await Promise.allSettled(dataPorts.map((port, i) => startRedisServer({
      port,
      dir: join(dir, `node-${i}`),
      args: [
        '--cluster-enabled', 'yes',
        '--cluster-port', String(bus[i]),
        '--cluster-config-file', 'nodes.conf',
        '--cluster-node-timeout', String(options.nodeTimeoutMs ?? 2_000),
      ],
    })));
    for (const result of started) if (result.status === 'fulfilled') nodes.push(result.value);
    const failed = started.find((result): result is PromiseRejectedResult => result.status === 'rejected');
    if (failed) throw failed.reason;
    const per = Math.ceil(CLUSTER_SLOTS / masters);
    await Promise.all(nodes.map(async (node, i) => {
      // Distinct epochs, as redis-cli --cluster create sets them: no epoch collision to resolve.
      await command(node.port, ['CLUSTER', 'SET-CONFIG-EPOCH', String(i + 1)]);
      await command(node.port, ['CLUSTER', 'ADDSLOTSRANGE', String(i * per), String(Math.min((i + 1) * per, CLUSTER_SLOTS) - 1)]);
    }));
    const first = nodes[0];
    if (!first) throw new Error('a cluster needs at least one master');
    for (let i = 1; i < nodes.length; i += 1) {
      await command(first.port, ['CLUSTER', 'MEET', '127.0.0.1', String(nodes[i]?.port), String(busPorts[i])]);
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const states = await Promise.all(nodes.map(async (node) => {
        const info = await command(node.port, ['CLUSTER', 'INFO']);
        return info.includes('cluster_state:ok') && info.includes(`cluster_known_nodes:${masters}`);
      }));
      if (states.every(Boolean)) break;
      if (Date.now() > deadline) throw new Error(`the Redis cluster did not reach cluster_state:ok within ${START_TIMEOUT_MS} ms`);
      await sleep(20);
    }
  } catch (error) {
    await Promise.all(nodes.map((node) => node.stop()));
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    nodes,
    url: `redis+cluster://${nodes.map((node) => `127.0.0.1:${node.port}`).join(',')}`,
    async close() {
      await Promise.all(nodes.map((node) => node.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
