/**
 * Runs `npx gateway <group> <command> [args]` against the command table (cli-command.ts):
 *
 * - `--help` or `-h` anywhere among the arguments (before a `--`), or `gateway help [<group>
 *   [<command>]]`, prints that usage on stdout, exit code 0, and runs nothing;
 * - no arguments at all prints the overview, as `gateway help` does;
 * - an unknown group, command or option is one line on stderr and exit code 2, and so is a
 *   UsageError a command throws (bad arguments);
 * - otherwise the command runs and its exit code is returned.
 */
import { commandUsage, groupUsage, overviewUsage, type CliIo, type CliTable } from './cli-command.ts';
import { UsageError } from './parse-command-args.ts';

const HELP_FLAGS = new Set(['--help', '-h']);

/** True when the arguments ask for help: `--help`/`-h` before any `--` (after it, they are values). */
function asksForHelp(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => HELP_FLAGS.has(arg));
}

/** A table lookup that never finds an inherited property (`constructor`, `__proto__`). */
function own<T>(record: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}

function refuse(io: CliIo, message: string): number {
  io.stderr(`gateway: ${message}\n`);
  return 2;
}

/** What `gateway help <words>` and `--help` print: the usage the words name, or a refusal. */
function help(table: CliTable, words: readonly string[], io: CliIo): number {
  const [groupName, commandName, ...extra] = words;
  if (groupName === undefined) {
    io.stdout(`${overviewUsage(table)}\n`);
    return 0;
  }
  const group = own(table, groupName);
  if (!group) return refuse(io, `unknown command "${groupName}" (try: gateway help)`);
  if (commandName === undefined) {
    io.stdout(`${groupUsage(groupName, group)}\n`);
    return 0;
  }
  const command = own(group.commands, commandName);
  if (!command) return refuse(io, `unknown command "${groupName} ${commandName}" (try: gateway help ${groupName})`);
  if (extra.length > 0) return refuse(io, `help takes a command and a subcommand, not "${extra.join(' ')}"`);
  io.stdout(`${commandUsage(groupName, commandName, command)}\n`);
  return 0;
}

export async function runCli(table: CliTable, args: readonly string[], io: CliIo): Promise<number> {
  const [groupName, commandName, ...rest] = args;
  if (groupName === undefined) return help(table, [], io);
  if (groupName === 'help')
    return help(
      table,
      args.slice(1).filter((word) => !HELP_FLAGS.has(word)),
      io,
    );
  // `gateway clients add --help`: the words before the first option name the usage to print.
  if (asksForHelp(args)) {
    const words = args.slice(
      0,
      args.findIndex((arg) => arg.startsWith('-')),
    );
    return help(table, words.slice(0, 2), io);
  }
  if (groupName.startsWith('-')) return refuse(io, `unknown option "${groupName}" (try: gateway help)`);
  const group = own(table, groupName);
  if (!group) return refuse(io, `unknown command "${groupName}" (try: gateway help)`);
  const names = Object.keys(group.commands);
  const choices = names.length === 1 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names.at(-1)}`;
  if (commandName === undefined)
    return refuse(io, `${groupName} needs a command: ${choices} (try: gateway help ${groupName})`);
  if (commandName.startsWith('-'))
    return refuse(io, `unknown option "${commandName}": ${groupName} needs a command first: ${choices}`);
  const command = own(group.commands, commandName);
  if (!command) return refuse(io, `unknown command "${groupName} ${commandName}" (try: gateway help ${groupName})`);
  try {
    return await command.run(rest, io);
  } catch (error) {
    if (error instanceof UsageError) return refuse(io, error.message);
    throw error;
  }
}
