#!/usr/bin/env node
/**
 * The operator CLI: `npx gateway <command>`. Exits non-zero with a one-line reason on bad input.
 */
import { loadConfig } from '../config/load-config.ts';
import { formatConfigCheck, renderSettingsReference } from '../config/settings-reference.ts';
import { clientsUsage } from '../gateway/clients/clients-usage.ts';
import { keysUsage } from '../gateway/keys/keys-command.ts';
import { usersUsage } from '../gateway/accounts/users-command.ts';
import type { CliIo } from '../gateway/cli/with-cli-store.ts';
import type { Config } from '../config/config-type.ts';

const usage = `usage: gateway <command>

  config check    validate the settings (environment and GATEWAY_CONFIG file)
  config docs     print the settings reference (docs/SETTINGS.md)
${clientsUsage}
${keysUsage}
${usersUsage}`;

function fail(message: string, code = 2): never {
  process.stderr.write(`gateway: ${message}\n`);
  process.exit(code);
}

const [group, command] = process.argv.slice(2);

/**
 * Commands that work on the running gateways' store: the same settings (environment and
 * GATEWAY_CONFIG), hence the same store. Loaded on demand: oidc-provider and the store clients
 * are not needed by `config` or `help`.
 */
const storeCommands: Record<string, () => Promise<(args: string[], config: Config, io: CliIo) => Promise<number>>> = {
  clients: async () => (await import('../gateway/clients/clients-command.ts')).runClientsCommand,
  keys: async () => (await import('../gateway/keys/keys-command.ts')).runKeysCommand,
  users: async () => (await import('../gateway/accounts/users-command.ts')).runUsersCommand,
};

const storeCommand = group === undefined ? undefined : storeCommands[group];
if (storeCommand) {
  const loaded = loadConfig();
  if (!loaded.ok) fail(`invalid settings (see: npx gateway config check): ${loaded.problems.join('; ')}`, 1);
  const run = await storeCommand();
  process.exitCode = await run(process.argv.slice(3), loaded.config, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  process.exit();
}

switch (`${group ?? ''} ${command ?? ''}`.trim()) {
  case 'config check': {
    const loaded = loadConfig();
    const { exitCode, output } = formatConfigCheck(loaded);
    (exitCode === 0 ? process.stdout : process.stderr).write(`${output}\n`);
    if (exitCode === 0 && loaded.ok && loaded.config.clientsFile !== undefined) {
      // The clients file is read at start too: check it now, against the registration policy.
      const file = loaded.config.clientsFile;
      const { checkClientsFileOffline } = await import('../gateway/clients/open-client-registry.ts');
      const count = await checkClientsFileOffline(loaded.config, file).catch((error: Error) => fail(error.message, 1));
      process.stdout.write(`clients:    ${count} in ${file}\n`);
    }
    process.exit(exitCode);
    break;
  }
  case 'config docs':
    process.stdout.write(renderSettingsReference());
    break;
  case '':
  case 'help':
  case '--help':
    process.stdout.write(`${usage}\n`);
    break;
  default:
    fail(`unknown command "${[group, command].filter(Boolean).join(' ')}" (try: gateway help)`);
}
