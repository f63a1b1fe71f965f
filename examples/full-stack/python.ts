/**
 * Debian's Python (/usr/bin/python3) with the Debian packages the Django example uses. The first
 * `python3` on PATH may be another one (pyenv, a virtualenv) without them, so this is always the
 * absolute path. Missing packages fail loudly with the command that installs them.
 */
import { spawn, spawnSync } from 'node:child_process';

export const PYTHON = process.env['DEBIAN_PYTHON'] ?? '/usr/bin/python3';
export const DJANGO_EXAMPLE_PACKAGES = ['python3-django', 'python3-jwt', 'python3-authlib', 'python3-requests'];

/** Throws unless Debian's python3 can import django, jwt, authlib and requests. */
export function requireDjangoPackages(): void {
  const probe = spawnSync(PYTHON, ['-c', 'import django, jwt, authlib, requests'], {
    encoding: 'utf8',
    env: pythonEnv(),
  });
  if (probe.error || probe.status !== 0) {
    throw new Error(
      `${PYTHON} cannot import django, jwt, authlib and requests (${probe.error?.message ?? probe.stderr.trim().split('\n').pop()}): ` +
        `run .ci/run, or apt-get install ${DJANGO_EXAMPLE_PACKAGES.join(' ')}`,
    );
  }
}

/** The environment for Debian's python: ours, without what would point it at another Python. */
export function pythonEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONDONTWRITEBYTECODE: '1', PYTHONUNBUFFERED: '1', ...extra };
  for (const name of ['PYTHONHOME', 'PYTHONPATH', 'VIRTUAL_ENV']) delete env[name];
  return env;
}

/** Runs `python args…` to the end; resolves with its exit code and everything it printed. */
export function runPython(
  args: string[],
  options: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, {
      cwd: options.cwd,
      env: pythonEnv(options.env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
