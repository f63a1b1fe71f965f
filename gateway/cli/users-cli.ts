/**
 * The `users` commands of `npx gateway`: their usage, and their code loaded only when one runs
 * (users-command.ts).
 */
import type { CliGroup } from './cli-command.ts';
import { withSettings } from './with-cli-store.ts';

export const usersCli: CliGroup = {
  summary: 'The people who signed in through the gateway, by their local sub.',
  commands: {
    list: {
      arguments: '[--upstream ID] [--limit N] [--after CURSOR] [--json]',
      summary: 'every account, a page at a time (by an index of buckets, never a scan)',
      description:
        'Lists accounts in a stable order, N at a time (default 50, at most 1000): each page ends\nwith the command for the next one (--after). --upstream keeps those signing in through that\nupstream. Accounts appear once they sign in with this version.',
      options: [
        ['--upstream ID', 'only the accounts of this upstream (an id of GATEWAY_UPSTREAMS)'],
        ['--limit N', 'accounts per page (default 50)'],
        ['--after CURSOR', 'the page after the one that printed it'],
        ['--json', '{"users": […], "next": CURSOR or absent} on stdout'],
      ],
      examples: ['npx gateway users list', 'npx gateway users list --upstream staff --json'],
      run: (args, io) =>
        withSettings(io, async (config) => (await import('./users-admin-command.ts')).runUsersList(args, config, io)),
    },
    find: {
      arguments: 'QUERY [--json]',
      summary: 'the accounts an e-mail, user name, sub or UPSTREAM_ID:UPSTREAM_SUB names',
      description:
        'Finds accounts by an index, never by scanning the store: an e-mail address (every account\nthat signed in with it), a user name, a sub, or an upstream identity as UPSTREAM_ID:UPSTREAM_SUB\n(the id in GATEWAY_UPSTREAMS and the subject there). Exit 1 when none is found.',
      options: [['--json', 'the accounts as one JSON array on stdout']],
      examples: ['npx gateway users find ada@example.com', 'npx gateway users find contractors:583231'],
      run: (args, io) =>
        withSettings(io, async (config) => (await import('./users-admin-command.ts')).runUsersFind(args, config, io)),
    },
    show: {
      arguments: 'SUB [--json]',
      summary: 'one account: its upstream, groups, last sign-in and sessions with their apps',
      options: [['--json', 'one JSON document on stdout']],
      examples: ['npx gateway users show 3f6c2a9e-0b1d-4e8a-9c55-2d7f1e0a4b6c'],
      run: (args, io) =>
        withSettings(io, async (config) => (await import('./users-admin-command.ts')).runUsersShow(args, config, io)),
    },
    disable: {
      arguments: 'SUB [--json]',
      summary: 'refuse the user at sign-in, and end every session and grant now',
      description:
        "Disables the account: its sign-ins are refused with a page that says so, every session and\ngrant it has ends at once on every instance (as `users sign-out`), and apps' refreshes get\ninvalid_grant. `users enable` undoes it (the sessions stay ended).",
      options: [['--json', 'the counts as one JSON document on stdout']],
      examples: ['npx gateway users disable 3f6c2a9e-0b1d-4e8a-9c55-2d7f1e0a4b6c'],
      run: (args, io) =>
        withSettings(io, async (config) =>
          (await import('./users-admin-command.ts')).runUsersDisable(args, config, io, true),
        ),
    },
    enable: {
      arguments: 'SUB [--json]',
      summary: 'let a disabled user sign in again',
      options: [['--json', 'one JSON document on stdout']],
      examples: ['npx gateway users enable 3f6c2a9e-0b1d-4e8a-9c55-2d7f1e0a4b6c'],
      run: (args, io) =>
        withSettings(io, async (config) =>
          (await import('./users-admin-command.ts')).runUsersDisable(args, config, io, false),
        ),
    },
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
    link: {
      arguments: 'SUB UPSTREAM_ID:UPSTREAM_SUB',
      summary: 'let another upstream identity sign in as this user',
      description:
        "Links an identity at another configured upstream (its id in GATEWAY_UPSTREAMS, and the user's\n`sub` there) to the account SUB: signing in through that upstream then signs in as this account,\nwith its one `sub`, user name and grants. The gateway never links identities by e-mail on its\nown. An identity that already has an account of its own is refused (exit 1). The `sub` there is\nthe upstream's subject as the gateway keys it: GitHub's numeric user id, Microsoft's\n<tenant id>:<object id>, else the `sub` claim.",
      options: [],
      examples: ['npx gateway users link 3f6c2a9e-0b1d-4e8a-9c55-2d7f1e0a4b6c contractors:583231'],
      run: (args, io) =>
        withSettings(io, async (config) => (await import('./users-command.ts')).runUsersLink(args, config, io)),
    },
  },
};
