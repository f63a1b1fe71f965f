/**
 * Debian's Caddy (`apt-get install caddy`, done by .ci/run), running a Caddyfile on a free
 * port for one test: its data and config in a directory of its own, its admin endpoint off,
 * stopped (and its directory removed) by `stop()`. No Caddy: a clear failure, never a skip.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stopServerProcess, waitForPort } from './nginx.ts';

export const CADDY_PATH = process.env['CADDY_PATH'] ?? '/usr/bin/caddy';

export interface RunningCaddy {
  port: number;
  stop(): Promise<void>;
}

/**
 * examples/caddy/Caddyfile filled in as a user would: the site's address (here plain http on a
 * test port, as `http://host:port`, so Caddy asks no certificate authority), the gateway's and
 * the app's addresses (Flower's too).
 */
export function shippedCaddyfile(options: { site: string; gatewayPort: number | string; appPort: number }): string {
  return readFileSync(new URL('../../examples/caddy/Caddyfile', import.meta.url), 'utf8')
    .replace('app.example.com {', `${options.site} {`)
    .replaceAll('127.0.0.1:4000', `127.0.0.1:${options.gatewayPort}`)
    .replaceAll('127.0.0.1:8000', `127.0.0.1:${options.appPort}`)
    .replaceAll('127.0.0.1:5555', `127.0.0.1:${options.appPort}`);
}

export async function startCaddy(port: number, caddyfile: string): Promise<RunningCaddy> {
  if (!existsSync(CADDY_PATH))
    throw new Error(
      `Caddy is not installed at ${CADDY_PATH}: run .ci/run (it installs Debian's caddy) or set CADDY_PATH`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'gateway-caddy-'));
  const file = join(dir, 'Caddyfile');
  // Global options first: no admin endpoint, no certificates, storage inside the test's directory.
  writeFileSync(
    file,
    `{\n\tadmin off\n\tauto_https off\n\tstorage file_system ${join(dir, 'data')}\n}\n\n${caddyfile}`,
  );
  let output = '';
  const child = spawn(CADDY_PATH, ['run', '--config', file, '--adapter', 'caddyfile'], {
    env: { PATH: process.env['PATH'] ?? '', HOME: dir, XDG_DATA_HOME: join(dir, 'data'), XDG_CONFIG_HOME: dir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitForPort(port, child, () => output);
  return {
    port,
    stop: () => stopServerProcess(child, dir),
  };
}
