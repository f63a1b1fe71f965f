/**
 * A real gateway for the operations tests, like start-gateway.ts (the fake Google on one loopback
 * port, the gateway on another, configured through `loadConfig` as an operator would), whose log
 * stream is kept: the production logger options (level `info`, redaction) write into `logs`, one
 * parsed JSON object per line, so a test can read the audit events and search the log for secrets.
 */
import type { FastifyInstance } from 'fastify';
import type { ClientMetadata } from 'oidc-provider';
import type { Store } from '../../adapters/store.ts';
import { loggerOptions } from '../../gateway/web/logger.ts';
import type { FakeGoogle, FakeGoogleOptions } from './fake-google.ts';
import { startGateway, TEST_SECRET } from './start-gateway.ts';

export { TEST_SECRET };

export interface LoggedGateway {
  issuer: string;
  url: string;
  app: FastifyInstance;
  google: FakeGoogle;
  /** Every log line so far, parsed. */
  logs: Array<Record<string, unknown>>;
  /** Every log line so far, as written. */
  logText(): string;
  close(): Promise<void>;
}

export interface LoggedGatewayOptions {
  env?: Record<string, string>;
  clients?: ClientMetadata[];
  store?: Store;
  google?: Omit<FakeGoogleOptions, 'clients'>;
  /** A fake Google to share (left running) instead of starting one. */
  fakeGoogle?: FakeGoogle;
  /** The public issuer when it is not this instance's own address (instances behind one balancer). */
  issuer?: string;
  port?: number;
  /** Keep only errors, on stderr (long fuzz runs): `logs` stays empty. */
  quiet?: boolean;
  /** Collects access log lines (and turns GATEWAY_ACCESS_LOG on). */
  accessLog?: (line: string) => void;
}

export async function startLoggedGateway(options: LoggedGatewayOptions = {}): Promise<LoggedGateway> {
  const lines: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const stream = {
    write(line: string) {
      lines.push(line);
      logs.push(JSON.parse(line) as Record<string, unknown>);
    },
  };
  // Quiet: only errors, on stderr (a fuzz run's unexpected failure still shows its cause).
  const logger = options.quiet
    ? { ...(loggerOptions('error') as object), stream: process.stderr }
    : { ...(loggerOptions('info') as object), stream };
  const { quiet: _quiet, ...rest } = options;
  const started = await startGateway({ ...rest, env: { GATEWAY_SECRETS: TEST_SECRET, ...options.env }, logger });
  return { ...started, logs, logText: () => lines.join('') };
}

/** The audit events logged so far (lines with an `audit` field). */
export function auditEvents(gw: Pick<LoggedGateway, 'logs'>): Array<Record<string, unknown> & { audit: string }> {
  return gw.logs.filter(
    (line): line is Record<string, unknown> & { audit: string } => typeof line['audit'] === 'string',
  );
}

/** One sample of a metric from Prometheus text (`name{labels} value`), or undefined. */
export function metricValue(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^([^{ ]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const found = Object.fromEntries(
      [...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]),
    );
    if (Object.entries(labels).every(([key, value]) => found[key] === value)) return Number(match[3]);
  }
  return undefined;
}
