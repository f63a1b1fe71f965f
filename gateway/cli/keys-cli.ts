/**
 * The `keys` commands of `npx gateway`: their usage, and their code loaded only when one runs
 * (keys-command.ts).
 */
import type { CliCommand, CliGroup } from './cli-command.ts';
import { withSettings } from './with-cli-store.ts';

const JSON_OPTION = ['--json', 'one JSON document on stdout, for scripts'] as const;

function run(command: 'list' | 'rotate'): CliCommand['run'] {
  return (args, io) =>
    withSettings(io, async (config) => (await import('./keys-command.ts')).runKeysCommand(command, args, config, io));
}

export const keysCli: CliGroup = {
  summary:
    "The signing keys of the gateway's tokens, kept in the store so that every instance signs\nand verifies alike.",
  commands: {
    list: {
      arguments: '[--json]',
      summary: 'the signing keys: current, next (published, not yet signing), retired',
      options: [JSON_OPTION],
      examples: ['npx gateway keys list'],
      run: run('list'),
    },
    rotate: {
      arguments: '[--json]',
      summary: 'add a new key pair, signing after GATEWAY_KEY_ROLL_IN seconds',
      description:
        'Adds a new key pair (ES256 for access tokens, RS256 for ID tokens). Every running gateway on a\nshared Redis publishes it in its JWKS at once and signs with it after GATEWAY_KEY_ROLL_IN\nseconds; the replaced keys stay published until every token they signed has expired. A rotation\nalready pending is not doubled.',
      options: [JSON_OPTION],
      examples: ['npx gateway keys rotate', 'GATEWAY_KEY_ROLL_IN=0 npx gateway keys rotate --json'],
      run: run('rotate'),
    },
  },
};
