#!/usr/bin/env node
/**
 * The operator CLI: `npx gateway <command>`, dispatched by the table below; each group declares
 * its commands with their usage (gateway/cli/cli-command.ts), so every command answers `--help`.
 * Exits non-zero with a one-line reason on bad input.
 */
import { configCli } from '../gateway/cli/config-cli.ts';
import { runCli } from '../gateway/cli/run-cli.ts';
import type { CliIo } from '../gateway/cli/with-cli-store.ts';
import { clientsCli } from '../gateway/cli/clients-cli.ts';
import { keysCli } from '../gateway/cli/keys-cli.ts';
import { usersCli } from '../gateway/cli/users-cli.ts';

const io: CliIo = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
};

try {
  process.exitCode = await runCli(
    { config: configCli, clients: clientsCli, keys: keysCli, users: usersCli },
    process.argv.slice(2),
    io,
  );
} catch (error) {
  io.stderr(`gateway: ${(error as Error).message}\n`);
  process.exitCode = 1;
}
// The store clients a command opened are closed; anything else left (a timer) must not hold the exit.
process.exit();
