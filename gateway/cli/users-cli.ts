/**
 * The `users` commands of `npx gateway`: their usage, and their code loaded only when one runs
 * (users-command.ts).
 */
import type { CliGroup } from './cli-command.ts';
import { withSettings } from './with-cli-store.ts';

export const usersCli: CliGroup = {
  summary: 'The people who signed in through the gateway, by their local sub.',
  commands: {
    'sign-out': {
      arguments: 'SUB [--json]',
      summary: 'end every session of one user, on every instance',
      description:
        "Ends every session of one user on every gateway instance while they serve, as the user signing\nout would: their apps can no longer refresh tokens, apps with a back-channel logout URI get a\nlogout token (signed with the gateways' current key: run it with their settings, GATEWAY_ISSUER\nincluded), and their forward-auth cookies are refused at once (on a shared Redis).",
      options: [['--json', 'the counts as one JSON document on stdout, for scripts']],
      examples: ['npx gateway users sign-out 3f6c2a9e-0b1d-4e8a-9c55-2d7f1e0a4b6c'],
      run: (args, io) =>
        withSettings(io, async (config) => (await import('./users-command.ts')).runUsersSignOut(args, config, io)),
    },
  },
};
