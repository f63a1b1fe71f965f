#!/usr/bin/env node
/**
 * The operator CLI: `npx gateway <command>`, dispatched by the one runner over the one table of
 * commands (gateway/cli/cli-table.ts); each command declares its usage, so every command answers
 * `--help`. Exits non-zero with a one-line reason on bad input.
 */
import type { CliIo } from '../gateway/cli/cli-command.ts';
import { cliTable } from '../gateway/cli/cli-table.ts';
import { runCli } from '../gateway/cli/run-cli.ts';

const io: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

try {
  process.exitCode = await runCli(cliTable, process.argv.slice(2), io);
} catch (error) {
  io.stderr(`gateway: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
// Everything written reaches a pipe before the exit: a pipe takes 64 KiB at once, and
// `process.exit` drops the rest (`clients list --json | jq` would read half a document).
for (const stream of [process.stdout, process.stderr])
  await new Promise<void>((resolve) => stream.write('', () => resolve()));
// The store clients a command opened are closed; anything else left (a timer) must not hold the exit.
process.exit();
