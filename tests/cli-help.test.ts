/**
 * `npx gateway` help, run as a subprocess the way an operator runs it: every command of the one
 * table the runner dispatches on (gateway/cli/cli-table.ts, so a command added later is covered
 * too), and the overview lists exactly those, answers `--help`, `-h` and `gateway help <group>
 * <command>` with the same usage (synopsis, options, an example) on stdout and exit code 0, even
 * where the settings are invalid (help opens nothing); every group answers for its commands; an
 * unknown command or option is one line on stderr and a non-zero exit.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cliTable } from '../gateway/cli/cli-table.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
/** The commands the public interface promises (the overview may list more). */
const PROMISED = [
  'clients add',
  'clients list',
  'clients show',
  'clients remove',
  'clients rotate-secret',
  'keys list',
  'keys rotate',
  'users sign-out',
  'config check',
  'config docs',
];

/** Every `group command` pair of the table, in its order. */
const TABLE_COMMANDS = Object.entries(cliTable).flatMap(([group, entry]) =>
  Object.keys(entry.commands).map((name) => `${group} ${name}`),
);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** By default where no store setting is valid: help must not need one. */
const NO_VALID_SETTINGS = { GATEWAY_STORE: 'bogus://nowhere' };

function gateway(args: string[], settings: Record<string, string> = NO_VALID_SETTINGS): Promise<Run> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !/^(GATEWAY|UPSTREAM)_|^NODE_ENV$/.test(key)),
  );
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['bin/gateway.ts', ...args],
      { cwd: ROOT, env: { ...inherited, ...settings }, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, stdout, stderr });
      },
    );
  });
}

/** Runs each argument list, two at a time (the machine has two cores). */
async function runAll(argLists: string[][], settings?: Record<string, string>): Promise<Run[]> {
  const results: Run[] = new Array(argLists.length);
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < argLists.length; index = next++)
      results[index] = await gateway(argLists[index] ?? [], settings);
  };
  await Promise.all([worker(), worker()]);
  return results;
}

function assertHelp(run: Run, what: string): void {
  assert.equal(run.code, 0, `${what}: exit code (stderr: ${run.stderr})`);
  assert.equal(run.stderr, '', `${what}: nothing on stderr`);
  assert.match(run.stdout, /^usage: gateway /, `${what}: starts with the synopsis`);
}

/** The `group command` pairs the overview lists. */
function listedCommands(overview: string): string[] {
  const section = overview.split('\ncommands:\n')[1]?.split('\n\n')[0] ?? '';
  return section
    .split('\n')
    .map((line) => /^ {2}(\S+ \S+) {2,}/.exec(line)?.[1] ?? '')
    .filter(Boolean);
}

describe('npx gateway help', () => {
  it('prints the overview for no arguments, help, --help and -h', async () => {
    const runs = await runAll([[], ['help'], ['--help'], ['-h']]);
    for (const [index, run] of runs.entries()) assertHelp(run, `overview ${index}`);
    for (const run of runs) assert.equal(run.stdout, runs[0]?.stdout);
    const listed = listedCommands(runs[0]?.stdout ?? '');
    for (const command of PROMISED) assert.ok(TABLE_COMMANDS.includes(command), `the table has ${command}`);
    assert.deepEqual(listed, TABLE_COMMANDS, 'the overview lists every command of the table, and only those');
  });

  it('answers --help, -h and `gateway help <group> <command>` for every command, with options and an example', async () => {
    const commands = TABLE_COMMANDS;
    const forms = (command: string) => {
      const words = command.split(' ');
      return [
        [...words, '--help'],
        [...words, '-h'],
        ['help', ...words],
        [...words, '--json', 'x', '--help'],
      ];
    };
    const runs = await runAll(commands.flatMap(forms));
    commands.forEach((command, i) => {
      const [help, short, named, amid] = runs.slice(i * 4, i * 4 + 4) as [Run, Run, Run, Run];
      assertHelp(help, `${command} --help`);
      assert.equal(short.stdout, help.stdout, `${command} -h`);
      assert.equal(named.stdout, help.stdout, `help ${command}`);
      assert.equal(amid.stdout, help.stdout, `${command} … --help among other arguments`);
      assert.ok(help.stdout.startsWith(`usage: gateway ${command}`), help.stdout);
      assert.match(
        help.stdout,
        /\noptions:\n(?: {2}.+\n)*? {2}-h, --help +print this help\n/,
        `${command}: its options`,
      );
      const examples =
        help.stdout
          .split(/\nexamples?:\n/)[1]
          ?.trim()
          .split('\n') ?? [];
      assert.ok(examples.length >= 1, `${command}: an example`);
      for (const example of examples)
        assert.match(
          example.trim(),
          new RegExp(`^(?:[A-Z_]+=\\S+ )*npx gateway ${command}\\b`),
          `${command}: ${example}`,
        );
    });
  });

  it('answers --help, -h and `gateway help <group>` for every group, listing its commands', async () => {
    const commands = TABLE_COMMANDS;
    const groups = Object.keys(cliTable);
    for (const group of ['clients', 'keys', 'users', 'config']) assert.ok(groups.includes(group), group);
    const runs = await runAll(
      groups.flatMap((group) => [
        [group, '--help'],
        [group, '-h'],
        ['help', group],
      ]),
    );
    groups.forEach((group, i) => {
      const [help, short, named] = runs.slice(i * 3, i * 3 + 3) as [Run, Run, Run];
      assertHelp(help, `${group} --help`);
      assert.equal(short.stdout, help.stdout);
      assert.equal(named.stdout, help.stdout);
      for (const command of commands.filter((c) => c.startsWith(`${group} `))) {
        const name = command.slice(group.length + 1);
        assert.match(help.stdout, new RegExp(`\\n {2}${name} +\\S`), `${group} --help lists ${name}`);
        assert.match(
          help.stdout,
          new RegExp(`\\n {2}npx gateway ${command}\\b`),
          `${group} --help has an example of ${name}`,
        );
      }
    });
  });

  it('refuses an unknown command or option with one line on stderr and a non-zero exit', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['nope'], /unknown command "nope"/],
      [['--nope'], /unknown option "--nope"/],
      [['help', 'nope'], /unknown command "nope"/],
      [['help', 'clients', 'nope'], /unknown command "clients nope"/],
      [['clients', 'nope', '--help'], /unknown command "clients nope"/],
      [['clients', '--nope'], /unknown option "--nope"/],
      [['constructor'], /unknown command "constructor"/],
      [['keys'], /keys needs a command: list or rotate/],
      [['users'], /users needs a command: list, find, show, disable, enable, sign-out or link \(/],
      [['keys', 'list', '--nope'], /Unknown option '--nope'/],
      [['config', 'check', 'extra'], /unexpected argument "extra"/],
      [['config', 'docs', '--json'], /Unknown option '--json'/],
      [['users', 'sign-out'], /expected one SUB/],
    ];
    // Valid settings, so that each refusal is about the arguments (memory:// is refused only later, by the store commands).
    const runs = await runAll(
      cases.map(([args]) => args),
      { GATEWAY_STORE: 'memory://' },
    );
    cases.forEach(([args, reason], i) => {
      const run = runs[i] as Run;
      const what = `gateway ${args.join(' ')}`;
      assert.notEqual(run.code, 0, what);
      assert.equal(run.stdout, '', what);
      const lines = run.stderr.split('\n').filter(Boolean);
      assert.equal(lines.length, 1, `${what}: one line: ${run.stderr}`);
      assert.match(lines[0] ?? '', /^gateway: /, what);
      assert.match(lines[0] ?? '', reason, what);
    });
  });
});
