/**
 * The Dockerfile's commands, run outside Docker (no Docker engine runs on these machines): the
 * file is read, its two stages are played in temporary folders exactly as written (the `COPY`s,
 * the production install `npm ci --omit=dev`, the `RUN`s of the final stage), and its `CMD` is
 * started with its `ENV` as a non-root user, with the settings production requires; then the
 * `HEALTHCHECK` command must pass and SIGTERM must stop the process cleanly.
 *
 * What cannot run here is mapped, and only that: `/app` (WORKDIR) is the temporary folder, the
 * image's `node` user is `nobody` (when the test runs as root), and the gateway listens on
 * 127.0.0.1 instead of the image's 0.0.0.0 (tests never listen beyond loopback); the test checks
 * that the Dockerfile does say 0.0.0.0.
 */
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './helpers/start-gateway.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

interface Instruction {
  keyword: string;
  args: string;
}

/** The Dockerfile's stages: instructions with line continuations joined and comments dropped. */
function parseDockerfile(text: string): Instruction[][] {
  const stages: Instruction[][] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([A-Z]+)\s+(.*)$/.exec(line);
    if (!match) throw new Error(`unreadable Dockerfile line: ${line}`);
    const instruction = { keyword: match[1] ?? '', args: (match[2] ?? '').replace(/\s+/g, ' ').trim() };
    if (instruction.keyword === 'FROM') stages.push([]);
    stages.at(-1)?.push(instruction);
  }
  return stages;
}

/** `ENV A=1 B=2` → { A: '1', B: '2' }. */
function parseEnv(args: string): Record<string, string> {
  return Object.fromEntries(args.split(' ').map((pair) => pair.split('=') as [string, string]));
}

const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const stages = parseDockerfile(dockerfile);
const [depsStage = [], finalStage = []] = stages;
const find = (stage: Instruction[], keyword: string) => stage.filter((i) => i.keyword === keyword);

describe('the Dockerfile, read', () => {
  it('builds on Node 24 slim in two stages, production dependencies only, the server built to JavaScript', () => {
    assert.equal(stages.length, 2);
    assert.match(depsStage[0]?.args ?? '', /^node:24-slim AS deps$/);
    assert.equal(finalStage[0]?.args, 'node:24-slim');
    assert.deepEqual(
      find(depsStage, 'RUN').map((i) => i.args),
      ['npm ci --omit=dev --no-audit --no-fund', 'node scripts/build.ts'],
    );
    assert.ok(find(finalStage, 'COPY').some((i) => i.args === '--from=deps /app/node_modules ./node_modules'));
    assert.ok(find(finalStage, 'COPY').some((i) => i.args === '--from=deps /app/dist ./dist'));
  });

  it('runs as a non-root user, listens on 0.0.0.0, checks /healthz, starts dist/gateway/main.js', () => {
    const user = find(finalStage, 'USER').at(-1)?.args;
    assert.ok(user && user !== 'root' && user !== '0', `USER ${user}`);
    const env = Object.assign({}, ...find(finalStage, 'ENV').map((i) => parseEnv(i.args))) as Record<string, string>;
    assert.equal(env['NODE_ENV'], 'production');
    assert.equal(env['GATEWAY_HOST'], '0.0.0.0');
    assert.equal(find(finalStage, 'EXPOSE')[0]?.args, env['GATEWAY_PORT']);
    assert.match(find(finalStage, 'HEALTHCHECK')[0]?.args ?? '', /\/healthz/);
    const command = JSON.parse(find(finalStage, 'CMD').at(-1)?.args ?? '[]') as string[];
    assert.equal(command[0], 'node');
    assert.equal(command.at(-1), 'dist/gateway/main.js', 'the exec form, so SIGTERM reaches Node itself (PID 1)');
    const start = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> })
      .scripts['start'];
    // (`exec`: npm's shell becomes Node, so a SIGTERM sent to npm reaches the gateway.)
    assert.equal(start, `exec ${command.join(' ')}`, '`npm start` runs the same command');
  });

  it('copies nothing that .dockerignore leaves out of the build context', () => {
    const ignored = readFileSync(join(ROOT, '.dockerignore'), 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    for (const copy of [...find(depsStage, 'COPY'), ...find(finalStage, 'COPY')]) {
      if (copy.args.startsWith('--from=')) continue;
      for (const source of copy.args.split(' ').slice(0, -1)) {
        assert.ok(existsSync(join(ROOT, source)), `COPY ${source}: not in the repository`);
        assert.ok(!ignored.includes(source), `COPY ${source}: excluded by .dockerignore`);
      }
    }
  });
});

describe('the Dockerfile, run outside Docker', () => {
  const dir = mkdtempSync(join(tmpdir(), 'gateway-docker-'));
  const depsDir = join(dir, 'deps');
  const appDir = join(dir, 'app');
  const asRoot = process.getuid?.() === 0;
  /** The image's `node` user; here `nobody`, when there is a root to drop from. */
  const user = asRoot ? { uid: 65534, gid: 65534, name: 'nobody:nogroup' } : undefined;
  // The image's Node is where its user can run it: a copy of the Node that runs these tests (24,
  // as in the image) in the temporary folder, since the checkout may be private (mode 0700, a
  // clone under /root) and `nobody` could not even reach the one in its node_modules.
  const nodeDir = join(dir, 'node-bin');
  const node = join(nodeDir, 'node');
  mkdirSync(nodeDir);
  cpSync(process.execPath, node);
  chmodSync(node, 0o755);
  // npm runs on that Node too.
  const pathWithNode = `${nodeDir}:${process.env['PATH'] ?? ''}`;

  /** Plays `COPY src… dest` (relative to `from`) into `to`. */
  function copy(args: string, from: string, to: string): void {
    const parts = args.split(' ');
    const dest = parts.at(-1) ?? '.';
    for (const source of parts.slice(0, -1)) {
      const target = dest.endsWith('/') ? join(to, dest, source.split('/').at(-1) ?? source) : join(to, dest);
      cpSync(join(from, source), target, { recursive: true });
    }
  }

  before(async () => {
    chmodSync(dir, 0o755);
    // Stage 1 (deps): COPY, then RUN as written.
    mkdirSync(depsDir);
    for (const step of depsStage) {
      if (step.keyword === 'COPY') copy(step.args, ROOT, depsDir);
      if (step.keyword === 'RUN')
        await run('sh', ['-c', step.args], {
          cwd: depsDir,
          env: { ...process.env, PATH: pathWithNode },
          timeout: 300_000,
        });
    }
    // Stage 2: COPY --from=deps and from the context; RUN with /app and the user mapped.
    mkdirSync(appDir);
    for (const step of finalStage) {
      if (step.keyword === 'COPY') {
        if (step.args.startsWith('--from=deps '))
          copy(step.args.slice('--from=deps '.length).replace('/app/', ''), depsDir, appDir);
        else copy(step.args, ROOT, appDir);
      }
      if (step.keyword === 'RUN') {
        const command = step.args
          .replaceAll('/app', appDir)
          .replaceAll('node:node', user?.name ?? `${process.getuid?.()}:${process.getgid?.()}`);
        await run('sh', ['-c', command], { timeout: 60_000 });
      }
    }
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it('installed the production dependencies and none of the development ones', () => {
    for (const name of ['fastify', 'oidc-provider', 'prom-client', 'sonic-boom', 'jose', '@keyv/redis']) {
      assert.ok(existsSync(join(appDir, 'node_modules', name, 'package.json')), `${name} installed`);
    }
    for (const name of ['typescript', 'fast-check', 'node', 'playwright-core', 'autocannon']) {
      assert.ok(!existsSync(join(appDir, 'node_modules', name)), `${name} (a devDependency) not installed`);
    }
    assert.ok(!existsSync(join(appDir, 'tests')) && !existsSync(join(appDir, 'docs')));
    // The server is plain JavaScript: no type left for Node to strip, no `.ts` specifier.
    const main = readFileSync(join(appDir, 'dist', 'gateway', 'main.js'), 'utf8');
    assert.doesNotMatch(main, /from '[^']+\.ts'/);
    assert.doesNotMatch(main, /\): string \{/);
  });

  it('starts with NODE_ENV=production as the non-root user, passes its HEALTHCHECK, stops on SIGTERM', async () => {
    const port = await freePort();
    const imageEnv = Object.assign({}, ...find(finalStage, 'ENV').map((i) => parseEnv(i.args))) as Record<
      string,
      string
    >;
    const env = {
      PATH: pathWithNode,
      ...imageEnv,
      // Loopback only in tests; the image's 0.0.0.0 is checked above.
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(port),
      GATEWAY_ISSUER: 'https://login.example.com',
      GATEWAY_SECRETS: 'docker-test-secret-0123456789abcdef0123456789',
      UPSTREAM_CLIENT_ID: 'docker-test-client',
      UPSTREAM_CLIENT_SECRET: 'docker-test-client-secret',
    };
    const [command, ...args] = JSON.parse(find(finalStage, 'CMD').at(-1)?.args ?? '[]') as string[];
    assert.equal(command, 'node');
    const child = spawn(node, args, {
      cwd: appDir,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(user ? { uid: user.uid, gid: user.gid } : {}),
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      let healthy = false;
      for (let i = 0; i < 150 && !healthy && child.exitCode === null; i += 1) {
        healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => r.status === 200,
          () => false,
        );
        if (!healthy) await sleep(100);
      }
      assert.ok(healthy, `/healthz never answered 200:\n${output}`);
      assert.equal(
        (await fetch(`http://127.0.0.1:${port}/readyz`)).status,
        200,
        'the embedded store in ./data is writable by the non-root user',
      );
      assert.ok(existsSync(join(appDir, 'data', 'gateway.sqlite')));
      assert.doesNotMatch(output, /DEV MODE/);

      // The HEALTHCHECK's command, as Docker would run it inside the container.
      const healthcheck = find(finalStage, 'HEALTHCHECK')[0]?.args ?? '';
      const [hcCommand, ...hcArgs] = JSON.parse(healthcheck.slice(healthcheck.indexOf('CMD ') + 4)) as string[];
      assert.equal(hcCommand, 'node');
      const check = await run(node, hcArgs, { env, timeout: 10_000 }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? 1,
      );
      assert.equal(check, 0, 'the HEALTHCHECK command passes');

      child.kill('SIGTERM');
      assert.equal(await exited, 0, `a clean exit on SIGTERM:\n${output}`);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
