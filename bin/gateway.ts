#!/usr/bin/env node
/**
 * The operator CLI: `npx gateway <command>`. Exits non-zero with a one-line reason on bad input.
 */
import { loadConfig } from '../config/load-config.ts';
import { formatConfigCheck, renderSettingsReference } from '../config/settings-reference.ts';
import { clientsUsage } from '../gateway/clients/clients-usage.ts';
import { keysUsage } from '../gateway/keys/keys-command.ts';
import { usersUsage } from '../gateway/accounts/users-command.ts';

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

if (group === 'clients') {
  // The same settings as the gateways (environment and GATEWAY_CONFIG), hence the same store.
  const loaded = loadConfig();
  if (!loaded.ok) fail(`invalid settings (see: npx gateway config check): ${loaded.problems.join('; ')}`, 1);
  // Loaded on demand: oidc-provider and the store clients are not needed by `config` or `help`.
  const { runClientsCommand } = await import('../gateway/clients/clients-command.ts');
  process.exitCode = await runClientsCommand(process.argv.slice(3), loaded.config, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  process.exit();
}

if (group === 'users') {
  const loaded = loadConfig();
  if (!loaded.ok) fail(`invalid settings (see: npx gateway config check): ${loaded.problems.join('; ')}`, 1);
  const { runUsersCommand } = await import('../gateway/accounts/users-command.ts');
  process.exitCode = await runUsersCommand(process.argv.slice(3), loaded.config, {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  process.exit();
}

if (group === 'keys') {
  const loaded = loadConfig();
  if (!loaded.ok) fail(`invalid settings (see: npx gateway config check): ${loaded.problems.join('; ')}`, 1);
  const { runKeysCommand } = await import('../gateway/keys/keys-command.ts');
  process.exitCode = await runKeysCommand(process.argv.slice(3), loaded.config, {
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
