/**
 * A real nginx (Debian's, installed by .ci/run) for end-to-end tests: a throwaway prefix
 * directory, `daemon off`, stopped by the test. Missing nginx fails loudly.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const NGINX_PATH = process.env['NGINX_PATH'] ?? '/usr/sbin/nginx';

export interface RunningNginx {
  port: number;
  /** The master process (its workers are its children). */
  pid: number;
  dir: string;
  stop(): Promise<void>;
}

/** Stops a server `child` started in `dir` (SIGTERM, then waits for it) and removes `dir`. */
export async function stopServerProcess(child: ChildProcess, dir: string): Promise<void> {
  if (child.exitCode === null) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
  rmSync(dir, { recursive: true, force: true });
}

export async function waitForPort(port: number, child: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited (${child.exitCode}): ${log()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`nginx did not listen on ${port}: ${log()}`);
}

/** Starts nginx with `serverConfig` inside `http {}`; extra files are written beside it. */
export async function startNginx(
  port: number,
  serverConfig: string,
  files: Record<string, string> = {},
): Promise<RunningNginx> {
  if (!existsSync(NGINX_PATH))
    throw new Error(
      `nginx is not installed at ${NGINX_PATH}: run .ci/run (it installs Debian's nginx) or set NGINX_PATH`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'gateway-nginx-'));
  for (const sub of ['logs', 'tmp']) mkdirSync(join(dir, sub));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const runAsRoot = process.getuid?.() === 0 ? 'user root;' : '';
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${runAsRoot}
daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${join(dir, 'logs', 'error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path ${join(dir, 'tmp', 'body')};
  proxy_temp_path ${join(dir, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(dir, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(dir, 'tmp', 'scgi')};
${serverConfig}
}
`,
  );
  let output = '';
  const child = spawn(NGINX_PATH, ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitForPort(port, child, () => output);
  return {
    port,
    pid: child.pid ?? 0,
    dir,
    stop: () => stopServerProcess(child, dir),
  };
}

/**
 * examples/nginx/gateway.conf filled in as a user would (GATEWAY, APP, FLOWER, LISTEN and the
 * server names), with its identity-headers include beside it and its check cache inside nginx's
 * prefix. `$host` becomes `$http_host` so that the test's non-default port is kept (on 443 in
 * production `$host` does the same).
 */
export function shippedNginxConfig(options: {
  listenPort: number;
  gatewayPort: number | string;
  appPort: number;
  serverNames: string;
  /** Extra locations, inserted before the server block's end. */
  extraLocations?: string;
}): { conf: string; files: Record<string, string> } {
  let conf = readFileSync(new URL('../../examples/nginx/gateway.conf', import.meta.url), 'utf8')
    .replaceAll('GATEWAY;', `127.0.0.1:${options.gatewayPort};`)
    .replaceAll('APP;', `127.0.0.1:${options.appPort};`)
    .replaceAll('FLOWER;', `127.0.0.1:${options.appPort};`)
    .replace('listen LISTEN default_server;', `listen 127.0.0.1:${options.listenPort} default_server;`)
    .replace('listen LISTEN;', `listen 127.0.0.1:${options.listenPort};`)
    .replace('server_name app.a.test app.b.example;', `server_name ${options.serverNames};`)
    .replaceAll('$host', '$http_host')
    // The check cache inside nginx's own throwaway prefix (a relative path is relative to it).
    .replace('/run/nginx-gateway-auth', 'gateway-auth-cache')
    .replaceAll('include gateway-identity-headers.conf;', 'include identity.conf;');
  if (options.extraLocations) {
    const end = conf.lastIndexOf('}');
    conf = `${conf.slice(0, end)}${options.extraLocations}\n${conf.slice(end)}`;
  }
  const identity = readFileSync(
    new URL('../../examples/nginx/gateway-identity-headers.conf', import.meta.url),
    'utf8',
  ).replaceAll('$host', '$http_host');
  return { conf, files: { 'identity.conf': identity } };
}
