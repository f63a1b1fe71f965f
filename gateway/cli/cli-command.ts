/**
 * The operator CLI (`npx gateway`), as a table: groups (`clients`, `keys`, ...) of commands, each
 * declaring its usage (synopsis, options, at least one example) beside the code that runs it. The
 * usage is a required part of a command, so `--help`, `-h` and `gateway help <command>`
 * (run-cli.ts) answer for every command, the next one added included.
 *
 * The table is loaded by every invocation, `help` included: a command imports its code (and with
 * it oidc-provider or the store clients) only when it runs.
 */

/**
 * Where a command writes: its result on stdout, and on stderr the one-line refusals
 * (`gateway: …`) and the audit events as JSON lines. Every command gets this and nothing else,
 * so a test runs the CLI as an operator does and reads the two streams.
 */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

export interface CliCommand {
  /** What follows `gateway <group> <command>` in the synopsis, e.g. `CLIENT_ID [--json]`. */
  arguments: string;
  /** One line, for the command lists. */
  summary: string;
  /** A few lines more on what it does, when the summary is not enough. */
  description?: string;
  /** Its options as `[flag, meaning]`; `-h, --help` is added to every command's list. */
  options: ReadonlyArray<readonly [flag: string, meaning: string]>;
  /** Whole command lines an operator can run as they stand (after filling in their own values). */
  examples: readonly [string, ...string[]];
  /** Runs it with the arguments after its name; resolves to the exit code. */
  run(args: string[], io: CliIo): Promise<number>;
}

export interface CliGroup {
  /** One line on what the group's commands act on. */
  summary: string;
  commands: Readonly<Record<string, CliCommand>>;
}

export type CliTable = Readonly<Record<string, CliGroup>>;

const HELP_OPTION = ['-h, --help', 'print this help'] as const;

/** `  flag   meaning` rows, continuation lines of a meaning indented under it. */
function rows(entries: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(14, ...entries.map(([left]) => left.length)) + 3;
  return entries
    .map(([left, right]) => `  ${left.padEnd(width)}${right.split('\n').join(`\n  ${' '.repeat(width)}`)}`)
    .join('\n');
}

/** The `--help` of one command. */
export function commandUsage(group: string, name: string, command: CliCommand): string {
  return [
    `usage: gateway ${group} ${name}${command.arguments ? ` ${command.arguments}` : ''}`,
    '',
    command.description ?? `${command.summary.charAt(0).toUpperCase()}${command.summary.slice(1)}.`,
    '',
    'options:',
    rows([...command.options, HELP_OPTION]),
    '',
    command.examples.length === 1 ? 'example:' : 'examples:',
    ...command.examples.map((example) => `  ${example}`),
  ].join('\n');
}

/** The `--help` of a group: its commands, and an example of each. */
export function groupUsage(group: string, entry: CliGroup): string {
  const commands = Object.entries(entry.commands);
  return [
    `usage: gateway ${group} <command> [options]`,
    '',
    entry.summary,
    '',
    'commands:',
    rows(commands.map(([name, command]) => [name, command.summary])),
    '',
    'examples:',
    ...commands.map(([, command]) => `  ${command.examples[0]}`),
    '',
    `Options of one command: gateway help ${group} <command> (or gateway ${group} <command> --help).`,
  ].join('\n');
}

/** `gateway help`: every command of every group. */
export function overviewUsage(table: CliTable): string {
  const commands = Object.entries(table).flatMap(([group, entry]) =>
    Object.entries(entry.commands).map(([name, command]) => [`${group} ${name}`, command.summary] as const),
  );
  return [
    'usage: gateway <command> [<subcommand>] [options]',
    '',
    'The operator CLI of the gateway. It reads the same settings as the gateway (the environment and',
    'GATEWAY_CONFIG), so it works on the store the running gateways share.',
    '',
    'commands:',
    rows(commands),
    '',
    'Usage, options and an example of one command: gateway help <command> [<subcommand>], or add',
    '--help (-h) to any command.',
  ].join('\n');
}
