/**
 * A production gateway says in its start log what a restart of its Redis would cost, and warns
 * when that is anything: Redis servers this test starts with nothing on disk (`--save ""
 * --appendonly no`), with RDB snapshots only, with an append-only file (`appendfsync everysec`),
 * and with CONFIG disabled as managed services do (then INFO persistence is all there is: AOF on
 * reads as durable, AOF off as unknown, and the start goes on either way).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRedisStore } from '../adapters/redis-store.ts';
import type { Persistence } from '../adapters/store.ts';
import { startRedisServer, type RedisServer } from './helpers/redis-server.ts';
import { startGateway } from './helpers/start-gateway.ts';

/** The servers, by what they keep on disk. */
const SERVERS = {
  nothing: { args: [] as string[] },
  snapshots: { args: ['--save', '3600 1 300 100'] },
  aof: { appendOnly: true, args: ['--appendfsync', 'everysec'] },
  hiddenNothing: { args: ['--rename-command', 'CONFIG', ''] },
  hiddenAof: { appendOnly: true, args: ['--appendfsync', 'everysec', '--rename-command', 'CONFIG', ''] },
} as const;
type ServerName = keyof typeof SERVERS;

describe('Redis persistence: what a restart of the store would cost', () => {
  const servers = new Map<ServerName, RedisServer>();

  before(async () => {
    await Promise.all(
      Object.entries(SERVERS).map(async ([name, options]) => {
        servers.set(name as ServerName, await startRedisServer({ ...options, args: [...options.args] }));
      }),
    );
  });
  after(async () => {
    await Promise.all([...servers.values()].map((server) => server.close()));
  });

  const url = (name: ServerName) => {
    const server = servers.get(name);
    assert.ok(server);
    return server.url;
  };
  const persistenceOf = async (name: ServerName): Promise<Persistence> => {
    const store = await createRedisStore(url(name));
    try {
      return await store.persistence();
    } finally {
      await store.close();
    }
  };
  /** Starts a gateway on the server and returns its start log. */
  const startLog = async (name: ServerName, production: boolean) => {
    const lines: Array<Record<string, unknown>> = [];
    const gw = await startGateway({
      env: { GATEWAY_STORE: url(name), ...(production ? { NODE_ENV: 'production' } : {}) },
      logger: {
        level: 'info',
        stream: { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) },
      },
    });
    await gw.close();
    return lines;
  };
  const persistenceReport = async (name: ServerName, production: boolean) =>
    (await startLog(name, production)).filter((line) => line['event'] === 'store_persistence');

  it("reads each server's settings: nothing, snapshots, an append-only file", async () => {
    assert.deepEqual(await persistenceOf('nothing'), {
      level: 'none',
      detail: 'nothing on disk (appendonly no, save "")',
    });
    const snapshots = await persistenceOf('snapshots');
    assert.equal(snapshots.level, 'snapshots');
    assert.match(snapshots.detail, /save "3600 1 300 100"/);
    assert.deepEqual(await persistenceOf('aof'), {
      level: 'durable',
      detail: 'append-only file (appendonly yes, appendfsync everysec)',
    });
  });

  it('with CONFIG disabled, falls back to INFO persistence instead of failing', async () => {
    assert.equal((await persistenceOf('hiddenAof')).level, 'durable');
    const hidden = await persistenceOf('hiddenNothing');
    assert.equal(hidden.level, 'unknown');
    assert.match(hidden.detail, /CONFIG is not available/);
  });

  it('a production start warns when Redis keeps nothing on disk, and names the fix', async () => {
    const lines = await startLog('nothing', true);
    const [report, ...more] = lines.filter((line) => line['event'] === 'store_persistence');
    assert.ok(report, 'one persistence line in the start log');
    assert.equal(more.length, 0);
    assert.equal(report['level'], 40, 'a warning');
    assert.equal(report['persistence'], 'none');
    assert.match(String(report['msg']), /NOTHING on disk: a restart of it signs every user out/);
    assert.match(String(report['msg']), /appendonly yes with appendfsync everysec/);
    // The first start on this store made its data key, which a start after a lost store would too: it says so.
    const created = lines.find((line) => line['event'] === 'data_key_created');
    assert.equal(created?.['level'], 40);
    assert.match(
      String(created?.['msg']),
      /expected on the first start on this store; otherwise the store has lost its data/,
    );
  });

  it('a production start warns about snapshots only, and about settings it cannot read', async () => {
    const [snapshots] = await persistenceReport('snapshots', true);
    assert.equal(snapshots?.['level'], 40);
    assert.match(String(snapshots?.['msg']), /loses every write since the last snapshot/);
    const [hidden] = await persistenceReport('hiddenNothing', true);
    assert.equal(hidden?.['level'], 40);
    assert.equal(hidden?.['persistence'], 'unknown');
    assert.match(String(hidden?.['msg']), /cannot tell whether the store keeps its data on disk/);
  });

  it('a production start on an append-only Redis says so without a warning; outside production it says nothing', async () => {
    const [report] = await persistenceReport('aof', true);
    assert.equal(report?.['level'], 30, 'info, not a warning');
    assert.equal(report?.['persistence'], 'durable');
    assert.deepEqual(await persistenceReport('nothing', false), [], 'development: no report');
  });
});
