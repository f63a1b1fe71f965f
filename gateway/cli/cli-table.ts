/**
 * Every command of `npx gateway`, by group: the one table the runner (run-cli.ts) dispatches on
 * and prints the usage of. A group added here is listed by `gateway help` and answers `--help`.
 */
import type { CliTable } from './cli-command.ts';
import { clientsCli } from './clients-cli.ts';
import { configCli } from './config-cli.ts';
import { keysCli } from './keys-cli.ts';
import { rulesCli } from './rules-cli.ts';
import { sessionsCli } from './sessions-cli.ts';
import { usersCli } from './users-cli.ts';

export const cliTable: CliTable = {
  config: configCli,
  clients: clientsCli,
  keys: keysCli,
  rules: rulesCli,
  users: usersCli,
  sessions: sessionsCli,
};
