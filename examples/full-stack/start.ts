/**
 * The whole picture on one machine, without Docker: the gateway (development mode: its embedded
 * development IdP stands in for Google), nginx in front of the Django example and a stand-in for
 * Celery Flower, the Django Bearer API, and the React SPA, all behind one sign-in.
 *
 *   bash examples/full-stack/run.sh      (or: npx node examples/full-stack/start.ts)
 *
 * Needs Debian's nginx and python3-django, python3-jwt, python3-authlib, python3-requests.
 * Ports: the gateway on 4000, nginx on 8080, Django on 8000 (STACK_GATEWAY_PORT,
 * STACK_NGINX_PORT, STACK_DJANGO_PORT change them). Any GATEWAY_* variable set in the
 * environment is passed to the gateway (e.g. GATEWAY_ACCESS_TOKEN_TTL=30 to watch a refresh).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  buildSpa,
  REACT_DIR,
  stackClients,
  stackGatewaySettings,
  startApps,
  type RunningApps,
  type StackPorts,
} from './stack.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * Refuses to start over a port that something already listens on (the gateway of `npm start`,
 * say): the stack would otherwise talk to that other process and seem to run.
 */
async function assertFree(portNumber: number, setting: string): Promise<void> {
  const free = await new Promise<boolean>((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(portNumber, '127.0.0.1', () => probe.close(() => done(true)));
  });
  if (!free) {
    console.error(
      `Port ${portNumber} is in use (is the gateway of \`npm start\` still running? Stop it with Ctrl+C), or choose another with ${setting}=…`,
    );
    process.exit(1);
  }
}

function port(name: string, fallback: number): number {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value <= 0 || value > 65535) throw new Error(`${name} must be a port number`);
  return value;
}

async function waitForGateway(issuer: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`the gateway exited (${child.exitCode}); see its output above`);
    try {
      if ((await fetch(`${issuer}/readyz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((done) => setTimeout(done, 200));
  }
  throw new Error(`the gateway did not answer at ${issuer}/readyz`);
}

async function main(): Promise<void> {
  const gatewayPort = port('STACK_GATEWAY_PORT', 4000);
  const ports: StackPorts = { nginx: port('STACK_NGINX_PORT', 8080), django: port('STACK_DJANGO_PORT', 8000) };
  await assertFree(gatewayPort, 'STACK_GATEWAY_PORT');
  await assertFree(ports.nginx, 'STACK_NGINX_PORT');
  await assertFree(ports.django, 'STACK_DJANGO_PORT');
  const issuer = `http://localhost:${gatewayPort}`;
  const work = mkdtempSync(join(tmpdir(), 'gateway-full-stack-'));
  const djangoSecret = randomBytes(32).toString('base64url');
  const children: ChildProcess[] = [];
  let apps: RunningApps | undefined;

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    await apps?.stop();
    for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));

  try {
    const spaDir = join(REACT_DIR, 'dist');
    await buildSpa(spaDir, (line) => console.log(`[spa] ${line}`));

    const clientsFile = join(work, 'clients.json');
    writeFileSync(clientsFile, JSON.stringify(stackClients(ports, djangoSecret), null, 2));
    mkdirSync(join(ROOT, 'data'), { recursive: true });
    const gatewayEnv: NodeJS.ProcessEnv = {
      ...process.env,
      GATEWAY_ISSUER: issuer,
      GATEWAY_PORT: String(gatewayPort),
      GATEWAY_CLIENTS_FILE: clientsFile,
      GATEWAY_LOG_LEVEL: process.env['GATEWAY_LOG_LEVEL'] ?? 'warn',
      ...stackGatewaySettings(ports),
    };
    const gateway = spawn(process.execPath, [join(ROOT, 'gateway', 'main.ts')], {
      cwd: ROOT,
      env: gatewayEnv,
      stdio: 'inherit',
    });
    children.push(gateway);
    await waitForGateway(issuer, gateway);

    apps = await startApps({ issuer, ports, djangoSecret, spaDir, workDir: work, log: (line) => console.log(line) });
    const { urls } = apps;
    const line = '='.repeat(72);
    console.log(
      [
        line,
        '  Full stack running. Sign in once, then open the others:',
        `    React SPA:            ${urls.spa}/`,
        `    Django (nginx):       ${urls.app}/      (forward auth)`,
        `    Flower (nginx):       ${urls.flower}`,
        `    Django (its own):     ${urls.django}/      (Authlib sign-in)`,
        `    Django Bearer API:    ${urls.api}/api/me`,
        `    Gateway:              ${issuer}/.well-known/openid-configuration`,
        '  Ctrl+C stops everything.',
        line,
      ].join('\n'),
    );
    gateway.once('exit', (code) => void stop(code ?? 1));
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    await stop(1);
  }
}

await main();
