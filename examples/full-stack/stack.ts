/**
 * The apps of the full-stack example around a running gateway: nginx (examples/full-stack/
 * nginx.conf), the Django example (examples/django, Debian's python3), the React SPA's built
 * files, and a stand-in for Celery Flower. `start.ts` runs it for a person; the browser test
 * (tests/browser-apps.test.ts) runs the very same thing against a gateway with a fake Google.
 *
 * Host names: `app.localhost` (Django behind forward auth, Flower at /flower/), `api.localhost`
 * (the Django Bearer API), and `localhost` (the SPA), all on nginx's port. Browsers resolve
 * `*.localhost` to loopback by themselves (RFC 6761 §6.3). The SPA and Django's own sign-in use
 * `localhost`, where the gateway's client policy allows plain http redirect URIs (RFC 8252 §7.3).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PYTHON, pythonEnv, requireDjangoPackages, runPython } from './python.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..', '..');
export const DJANGO_DIR = join(ROOT, 'examples', 'django');
export const REACT_DIR = join(ROOT, 'examples', 'react');
export const NGINX_PATH = process.env['NGINX_PATH'] ?? '/usr/sbin/nginx';

export const DJANGO_CLIENT_ID = 'django-example';
export const SPA_CLIENT_ID = 'react-example';
export const CLI_CLIENT_ID = 'cli-example';

export interface StackPorts {
  /** nginx: every app's public port. */
  nginx: number;
  /** Django's own server (also reached directly for its own sign-in, at http://localhost:<port>). */
  django: number;
}

export interface StackUrls {
  /** The Django app behind nginx forward auth. */
  app: string;
  /** Celery Flower (stand-in) behind the same forward auth. */
  flower: string;
  /** The Django Bearer API's origin (also the SPA's RFC 8707 resource indicator). */
  api: string;
  /** The React SPA. */
  spa: string;
  /** The Django app reached directly, signing in with its own OpenID Connect client (Authlib). */
  django: string;
}

export function stackUrls(ports: StackPorts): StackUrls {
  const app = `http://app.localhost:${ports.nginx}`;
  return {
    app,
    flower: `${app}/flower/`,
    api: `http://api.localhost:${ports.nginx}`,
    spa: `http://localhost:${ports.nginx}`,
    django: `http://localhost:${ports.django}`,
  };
}

/** A client as GATEWAY_CLIENTS_FILE (or `buildGateway`'s `clients`) takes it. */
export interface StackClient {
  client_id: string;
  client_name: string;
  client_secret?: string;
  token_endpoint_auth_method?: string;
  redirect_uris: string[];
  post_logout_redirect_uris: string[];
  grant_types: string[];
  response_types?: string[];
  resources?: string[];
  first_party: boolean;
}

/**
 * The clients the apps need at the gateway: Django (confidential, its own sign-in), the SPA
 * (public: PKCE, no secret; allowed to ask access tokens for the API with `resource`), and the
 * command-line example (public, the device grant, tokens for the API).
 */
export function stackClients(ports: StackPorts, djangoSecret: string): StackClient[] {
  const urls = stackUrls(ports);
  return [
    {
      client_id: DJANGO_CLIENT_ID,
      client_name: 'Django example',
      client_secret: djangoSecret,
      redirect_uris: [`${urls.django}/oidc/callback`],
      post_logout_redirect_uris: [`${urls.django}/`],
      grant_types: ['authorization_code', 'refresh_token'],
      first_party: true,
    },
    {
      client_id: SPA_CLIENT_ID,
      client_name: 'React example',
      token_endpoint_auth_method: 'none',
      redirect_uris: [`${urls.spa}/callback`],
      post_logout_redirect_uris: [`${urls.spa}/`],
      grant_types: ['authorization_code', 'refresh_token'],
      resources: [urls.api],
      first_party: true,
    },
    {
      // examples/cli/device-login.ts: a public client signing in with the device grant (RFC 8628).
      client_id: CLI_CLIENT_ID,
      client_name: 'Command-line example',
      token_endpoint_auth_method: 'none',
      redirect_uris: [],
      post_logout_redirect_uris: [],
      grant_types: ['urn:ietf:params:oauth:grant-type:device_code', 'refresh_token'],
      response_types: [],
      resources: [urls.api],
      first_party: true,
    },
  ];
}

/** Gateway settings the stack needs: forward-auth callbacks on app.localhost. */
export function stackGatewaySettings(ports: StackPorts): Record<string, string> {
  return { GATEWAY_REDIRECT_DOMAINS: `app.localhost:${ports.nginx}` };
}

/** Builds the SPA into `outDir` (npm ci first when examples/react has no node_modules). */
export async function buildSpa(outDir: string, log: (line: string) => void = () => {}): Promise<void> {
  if (!existsSync(join(REACT_DIR, 'node_modules', 'vite'))) {
    log('npm ci in examples/react');
    await run('npm', ['ci', '--no-audit', '--no-fund'], REACT_DIR, 180_000);
  }
  log('vite build');
  await run(
    process.execPath,
    [
      join(REACT_DIR, 'node_modules', 'vite', 'bin', 'vite.js'),
      'build',
      '--outDir',
      outDir,
      '--emptyOutDir',
      '--logLevel',
      'warn',
    ],
    REACT_DIR,
    120_000,
  );
}

export interface StartAppsOptions {
  /** The gateway's issuer, e.g. http://localhost:4000. */
  issuer: string;
  ports: StackPorts;
  djangoSecret: string;
  /** The SPA's built files (see buildSpa). */
  spaDir: string;
  /** A directory for nginx's files, Django's database and the SPA's config.json. */
  workDir: string;
  /** Receives the apps' log lines. */
  log?: (line: string) => void;
}

export interface RunningApps {
  urls: StackUrls;
  /** Everything the apps printed, for a failing test to show. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts Flower (stand-in), Django and nginx; stops what it started if one of them fails. */
export async function startApps(options: StartAppsOptions): Promise<RunningApps> {
  const { ports, workDir } = options;
  const urls = stackUrls(ports);
  let output = '';
  const log = (line: string) => {
    output += `${line}\n`;
    options.log?.(line);
  };
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {});
    stops.length = 0;
  };
  try {
    mkdirSync(workDir, { recursive: true });
    const flower = await startFlowerStandIn();
    stops.push(() => new Promise<void>((done) => flower.close(() => done())));
    const flowerPort = (flower.address() as AddressInfo).port;

    requireDjangoPackages();
    const djangoEnv = {
      OIDC_ISSUER: options.issuer,
      OIDC_CLIENT_ID: DJANGO_CLIENT_ID,
      OIDC_CLIENT_SECRET: options.djangoSecret,
      // the Django client's own tokens, and the SPA's tokens for the API (RFC 8707 resource)
      OIDC_API_AUDIENCES: `${DJANGO_CLIENT_ID},${urls.api}`,
      OIDC_FORWARD_AUTH_AUDIENCES: urls.app,
      CORS_ALLOWED_ORIGINS: urls.spa,
      DJANGO_ALLOWED_HOSTS: 'localhost,127.0.0.1,app.localhost,api.localhost',
      DJANGO_DB_PATH: join(workDir, 'django.sqlite3'),
    };
    const migrated = await runPython(['manage.py', 'migrate', '--noinput', '-v', '0'], {
      cwd: DJANGO_DIR,
      env: djangoEnv,
    });
    if (migrated.code !== 0) throw new Error(`manage.py migrate failed:\n${migrated.output}`);
    const django = spawnLogged(
      PYTHON,
      ['manage.py', 'runserver', '--noreload', `127.0.0.1:${ports.django}`],
      { cwd: DJANGO_DIR, env: pythonEnv(djangoEnv) },
      '[django] ',
      log,
    );
    stops.push(() => stopChild(django));
    await waitForPort(ports.django, django, 'Django', () => output);

    writeFileSync(
      join(workDir, 'config.json'),
      `${JSON.stringify({ issuer: options.issuer, clientId: SPA_CLIENT_ID, apiUrl: `${urls.api}/api/me`, resource: urls.api }, null, 2)}\n`,
    );
    const nginx = await startNginx({
      dir: join(workDir, 'nginx'),
      port: ports.nginx,
      vars: {
        LISTEN: `127.0.0.1:${ports.nginx}`,
        GATEWAY: new URL(options.issuer).host.replace(/^localhost:/, '127.0.0.1:'),
        DJANGO: `127.0.0.1:${ports.django}`,
        FLOWER: `127.0.0.1:${flowerPort}`,
        APP_HOST: 'app.localhost',
        API_HOST: 'api.localhost',
        SPA_HOST: 'localhost',
        SPA_ROOT: resolve(options.spaDir),
        SPA_CONFIG: join(resolve(workDir), 'config.json'),
        CONNECT_SRC: `${new URL(options.issuer).origin} ${urls.api}`,
      },
      log,
    });
    stops.push(() => nginx.stop());
  } catch (error) {
    await stopAll();
    throw error;
  }
  return { urls, output: () => output, stop: stopAll };
}

/**
 * Stands in for Celery Flower (`celery flower --url_prefix=flower`): a page at /flower/. Like
 * Flower it trusts nginx to have checked the user, so it must listen on loopback only.
 */
function startFlowerStandIn(): Promise<Server> {
  const server = createServer((req, res) => {
    const email = String(req.headers['x-auth-request-email'] ?? '');
    const escaped = email.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Flower (stand-in)</title>
<style>body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:6vh 16px;display:flex;justify-content:center;background:#f4f5f7;color:#1b1d21}main{max-width:520px;width:100%;background:#fff;border:1px solid #c9ced6;border-radius:12px;padding:28px}h1{font-size:1.5rem;margin:0 0 12px}.muted{color:#4a4f57}</style></head>
<body><main><p class="muted">Celery Flower (stand-in)</p><h1>Workers: 0 online</h1><p>Signed in at the gateway as <strong>${escaped || 'nobody'}</strong>; nginx let you in.</p><p class="muted">Path: ${(req.url ?? '').replace(/[&<>"']/g, '')}</p></main></body></html>`);
  });
  return new Promise((resolveServer, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolveServer(server));
  });
}

interface NginxOptions {
  dir: string;
  port: number;
  vars: Record<string, string>;
  log: (line: string) => void;
}

/** nginx in the foreground with the filled-in examples/full-stack/nginx.conf, in its own prefix directory. */
async function startNginx(options: NginxOptions): Promise<{ stop(): Promise<void> }> {
  if (!existsSync(NGINX_PATH))
    throw new Error(`nginx is not installed at ${NGINX_PATH}: apt-get install nginx (or set NGINX_PATH)`);
  const { dir } = options;
  for (const sub of ['', 'logs', 'tmp']) mkdirSync(join(dir, sub), { recursive: true });
  let servers = readFileSync(join(HERE, 'nginx.conf'), 'utf8');
  // Longest names first, so that SPA_ROOT is not taken for a part of another word.
  for (const [name, value] of Object.entries(options.vars).sort(([a], [b]) => b.length - a.length)) {
    servers = servers.replace(new RegExp(`\\b${name}\\b`, 'g'), value);
  }
  writeFileSync(
    join(dir, 'gateway-identity-headers.conf'),
    readFileSync(join(ROOT, 'examples', 'nginx', 'gateway-identity-headers.conf'), 'utf8'),
  );
  writeFileSync(
    join(dir, 'nginx.conf'),
    `${process.getuid?.() === 0 ? 'user root;\n' : ''}daemon off;
worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log stderr warn;
events { worker_connections 1024; }
http {
  access_log off;
  include ${mimeTypes()};
  default_type application/octet-stream;
  client_body_temp_path ${join(dir, 'tmp', 'body')};
  proxy_temp_path ${join(dir, 'tmp', 'proxy')};
  fastcgi_temp_path ${join(dir, 'tmp', 'fastcgi')};
  uwsgi_temp_path ${join(dir, 'tmp', 'uwsgi')};
  scgi_temp_path ${join(dir, 'tmp', 'scgi')};
${servers}
}
`,
  );
  const child = spawnLogged(NGINX_PATH, ['-p', dir, '-c', join(dir, 'nginx.conf')], {}, '[nginx] ', options.log);
  let seen = '';
  child.stderr?.on('data', (chunk: Buffer) => (seen += chunk.toString()));
  await waitForPort(options.port, child, 'nginx', () => seen);
  return { stop: () => stopChild(child) };
}

/** Debian's mime.types, so the SPA's .js and .css are served with the right types. */
function mimeTypes(): string {
  const path = '/etc/nginx/mime.types';
  if (!existsSync(path)) throw new Error(`${path} is missing: apt-get install nginx`);
  return path;
}

function spawnLogged(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv },
  prefix: string,
  log: (line: string) => void,
): ChildProcess {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  for (const stream of [child.stdout, child.stderr]) {
    let pending = '';
    stream?.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) log(`${prefix}${line}`);
    });
  }
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((done) => child.once('exit', done));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

async function waitForPort(port: number, child: ChildProcess, name: string, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}):\n${log()}`);
    const open = await new Promise<boolean>((done) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end();
        done(true);
      });
      socket.on('error', () => done(false));
    });
    if (open) return;
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`${name} did not listen on ${port}:\n${log()}`);
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')}: ${error.message}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolveRun();
      else reject(new Error(`${command} ${args.join(' ')} failed (${code}):\n${output}`));
    });
  });
}
