/**
 * The `config` commands of `npx gateway`: the settings as the gateway would read them at start,
 * checked or documented. Neither opens the store. The settings code (zod, the YAML reader) is
 * loaded only when one runs, not for `--help`.
 */
import type { CliGroup } from './cli-command.ts';
import { parseCommandArgs } from './parse-command-args.ts';

export const configCli: CliGroup = {
  summary: 'The settings: environment variables, or the same keys in the JSON or YAML file that\nGATEWAY_CONFIG names.',
  commands: {
    check: {
      arguments: '',
      summary: 'validate the settings (environment and GATEWAY_CONFIG file)',
      description:
        'Validates the settings as the gateway would at start, and GATEWAY_CONFIG and\nGATEWAY_CLIENTS_FILE with them. Prints a summary (never a secret) and exits 0, or every problem\nat once, one line each, and exits 1.',
      options: [],
      examples: ['npx gateway config check', 'GATEWAY_CONFIG=./gateway.yaml npx gateway config check'],
      async run(args, io) {
        parseCommandArgs(args, {});
        const { loadConfig } = await import('../../config/load-config.ts');
        const { formatConfigCheck } = await import('../../config/format-config-check.ts');
        const loaded = loadConfig();
        const { exitCode, output } = formatConfigCheck(loaded);
        (exitCode === 0 ? io.stdout : io.stderr)(`${output}\n`);
        if (exitCode !== 0 || !loaded.ok || loaded.config.clientsFile === undefined) return exitCode;
        // The clients file is read at start too: check it now, against the registration policy.
        const file = loaded.config.clientsFile;
        const { checkClientsFileOffline } = await import('./open-client-registry.ts');
        try {
          io.stdout(`clients:    ${await checkClientsFileOffline(loaded.config, file)} in ${file}\n`);
          return 0;
        } catch (error) {
          io.stderr(`gateway: ${(error as Error).message}\n`);
          return 1;
        }
      },
    },
    docs: {
      arguments: '',
      summary: 'print the settings reference (docs/SETTINGS.md)',
      options: [],
      examples: ['npx gateway config docs > docs/SETTINGS.md'],
      async run(args, io) {
        parseCommandArgs(args, {});
        const { renderSettingsReference } = await import('../../config/settings-reference.ts');
        io.stdout(renderSettingsReference());
        return 0;
      },
    },
  },
};
