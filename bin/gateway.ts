#!/usr/bin/env node
/**
 * The operator CLI: `npx gateway <command>`. Exits non-zero with a one-line reason on bad input.
 */
import { loadConfig } from '../config/load-config.ts';
import { formatConfigCheck, renderSettingsReference } from '../config/settings-reference.ts';

const usage = `usage: gateway <command>

  config check    validate the settings (environment and GATEWAY_CONFIG file)
  config docs     print the settings reference (docs/SETTINGS.md)`;

function fail(message: string, code = 2): never {
  process.stderr.write(`gateway: ${message}\n`);
  process.exit(code);
}

const [group, command] = process.argv.slice(2);

switch (`${group ?? ''} ${command ?? ''}`.trim()) {
  case 'config check': {
    const { exitCode, output } = formatConfigCheck(loadConfig());
    (exitCode === 0 ? process.stdout : process.stderr).write(`${output}\n`);
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
