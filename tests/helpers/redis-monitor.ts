/**
 * Counts what a piece of work sends to Redis: a raw `MONITOR` connection to a redis-server the
 * test started itself (never the shared 127.0.0.1:6379: MONITOR sees every client's commands),
 * recording every command from the start of `around(work)` until a marker sent after the work.
 *
 * MONITOR lists commands in the order the server runs them, so once the marker (an `ECHO` on a
 * connection of this helper's own) is seen, every command the work sent before it has been seen
 * too. Commands a Lua script runs are listed as well, marked `lua`: a script is one round trip
 * (its EVAL/EVALSHA line), whatever it runs inside.
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { redisCommand } from './redis-server.ts';

/** One command as MONITOR reports it. */
export interface MonitoredCommand {
  /** The command name, upper-cased (`GET`, `EVALSHA`, …). */
  name: string;
  /** Its arguments after the name. */
  args: string[];
  /** Run by a Lua script, not sent by a client. */
  lua: boolean;
  /** `host:port` of the client that sent it (`lua` for script commands). */
  client: string;
}

export interface Monitored {
  /** Every command sent by a client (a script's EVAL/EVALSHA counts once): what costs a round trip or a pipeline slot. */
  sent: MonitoredCommand[];
  /** The commands scripts ran, for the record. */
  inScripts: MonitoredCommand[];
}

export interface RedisMonitor {
  /** Runs `work`, waits `settleMs` for work it left running, and returns what Redis was sent meanwhile. */
  around(work: () => Promise<unknown>, settleMs?: number): Promise<Monitored>;
  close(): void;
}

/** Splits MONITOR's `"a" "b\"c"` argument list. */
function parseArgs(text: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"/g;
  for (let match = re.exec(text); match; match = re.exec(text)) out.push(match[1] ?? '');
  return out;
}

/** `+1700000000.123456 [0 127.0.0.1:5555] "GET" "k"` → a command, or undefined for other lines. */
function parseLine(line: string): MonitoredCommand | undefined {
  const match = /^\+\d+\.\d+ \[\d+ ([^\]]+)\] (.*)$/.exec(line);
  if (!match) return undefined;
  const [name = '', ...args] = parseArgs(match[2] ?? '');
  const client = match[1] ?? '';
  return { name: name.toUpperCase(), args, lua: client === 'lua', client };
}

/** Opens a MONITOR connection to the redis-server on `port`. */
export async function monitorRedis(port: number): Promise<RedisMonitor> {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let buffer = '';
  const lines: string[] = [];
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk) => {
    buffer += chunk.toString('utf8');
    let end = buffer.indexOf('\r\n');
    while (end >= 0) {
      lines.push(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf('\r\n');
    }
    waiting?.();
  });
  socket.write('MONITOR\r\n');
  const until = async (found: () => boolean, what: string) => {
    const deadline = Date.now() + 5_000;
    while (!found()) {
      if (Date.now() > deadline) throw new Error(`MONITOR: no ${what} within 5 s`);
      await new Promise<void>((resolve) => {
        waiting = resolve;
        setTimeout(resolve, 50);
      });
    }
  };
  await until(() => lines.includes('+OK'), '+OK');

  /** Sends ECHO <marker> on a connection of its own and waits for MONITOR to list it. */
  async function mark(): Promise<number> {
    const marker = `monitor-mark-${randomUUID()}`;
    await redisCommand(port, ['ECHO', marker]);
    let at = -1;
    await until(() => {
      at = lines.findIndex((line) => line.includes(`"ECHO" "${marker}"`));
      return at >= 0;
    }, 'marker');
    return at;
  }

  return {
    async around(work, settleMs = 100) {
      const start = await mark();
      lines.splice(0, start + 1);
      await work();
      await sleep(settleMs);
      const end = await mark();
      const commands = lines
        .splice(0, end + 1)
        .slice(0, end)
        .map(parseLine)
        .filter((command) => command !== undefined)
        // The marker connection's own handshake (HELLO, CLIENT SETINFO) is not the work's.
        .filter((command) => command.name !== 'HELLO' && command.name !== 'CLIENT');
      return {
        sent: commands.filter((command) => !command.lua),
        inScripts: commands.filter((command) => command.lua),
      };
    },
    close() {
      socket.destroy();
    },
  };
}

/** `GET ×3, EVALSHA ×2` for a message. */
export function summarize(commands: MonitoredCommand[]): string {
  const counts = new Map<string, number>();
  for (const { name } of commands) counts.set(name, (counts.get(name) ?? 0) + 1);
  return [...counts].map(([name, n]) => `${name} ×${n}`).join(', ') || 'none';
}
