/**
 * What a command logs besides its result: audit events (written by web/audit.ts, which owns their
 * shape) and a logout token it could not deliver. They are JSON lines on stderr in pino's format,
 * the lines a gateway writes, so `jq 'select(.audit)'` reads both alike; filtered at
 * GATEWAY_LOG_LEVEL. A line is written at once: the CLI exits right after its command
 * (bin/gateway.ts), before an asynchronous logger would have flushed.
 */
import { userInfo } from 'node:os';
import type { LogLevel } from '../../config/log-levels.ts';
import type { AuditSink } from '../web/audit.ts';
import type { CliIo } from './cli-command.ts';

/** pino's numbers for its levels. */
const LEVELS: Record<LogLevel, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Infinity,
};

/** The command's log, on `io.stderr`, writing what is at `level` or above. */
export function cliLog(io: CliIo, level: LogLevel): AuditSink {
  const at =
    (value: number) =>
    (obj: object, msg: string): void => {
      if (value < LEVELS[level]) return;
      io.stderr(`${JSON.stringify({ level: value, time: Date.now(), name: 'gateway-cli', ...obj, msg })}\n`);
    };
  return { info: at(LEVELS.info), warn: at(LEVELS.warn) };
}

/** Who ran the command, for audit events: the CLI, and the operator's login name if known. */
export function cliActor(): { via: 'cli'; user?: string } {
  try {
    return { via: 'cli', user: userInfo().username };
  } catch {
    return { via: 'cli' };
  }
}
