/**
 * The `sessions` commands of `npx gateway`: their usage, and their code loaded only when one runs
 * (users-admin-command.ts).
 */
import type { CliGroup } from './cli-command.ts';
import { withSettings } from './with-cli-store.ts';

export const sessionsCli: CliGroup = {
  summary: "The users' sign-in (SSO) sessions, each with the apps it signed in to.",
  commands: {
    list: {
      arguments: 'SUB [--json]',
      summary: "one user's sessions: when each signed in, and its apps",
      options: [['--json', 'the sessions as one JSON array on stdout']],
      examples: ['npx gateway sessions list 3f6c2a9e-0b1d-4e8a-9c55-2d7f1e0a4b6c'],
      run: (args, io) =>
        withSettings(io, async (config) =>
          (await import('./users-admin-command.ts')).runSessionsList(args, config, io),
        ),
    },
    end: {
      arguments: 'SESSION [--json]',
      summary: 'end one session (its id from `sessions list`) on every instance',
      description:
        "Ends one SSO session as its user signing out would: its grants and tokens, its forward-auth\\ncookies on every instance, and a logout token to apps that asked for one. The user's other\\nsessions (another browser, another device) go on.",
      options: [['--json', 'the counts as one JSON document on stdout']],
      examples: ['npx gateway sessions end 9Tq3vQ0pYh1lKXk2bJc5e'],
      run: (args, io) =>
        withSettings(io, async (config) => (await import('./users-admin-command.ts')).runSessionsEnd(args, config, io)),
    },
  },
};
