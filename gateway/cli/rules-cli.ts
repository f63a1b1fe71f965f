/**
 * The `rules` commands of `npx gateway`: their usage, and their code loaded only when one runs
 * (rules-command.ts).
 */
import type { CliGroup } from './cli-command.ts';
import { withSettings } from './with-cli-store.ts';

export const rulesCli: CliGroup = {
  summary: 'The forward-auth access rules (GATEWAY_HOST_RULES), checked before they are deployed.',
  commands: {
    explain: {
      arguments:
        '--host HOST [--path PATH] [--method METHOD] [--ip ADDRESS] [--user SUB|USERNAME|EMAIL | --email EMAIL [--group GROUP]… [--upstream ID]]',
      summary: 'say which rule decides a request, and whether it passes',
      description:
        "Reads the settings as the gateway would (GATEWAY_HOST_RULES, GATEWAY_GROUPS) and says which\nrule decides a request to HOST and PATH (default /) with METHOD (default GET) from ADDRESS,\nand whether a user with that e-mail (their GATEWAY_GROUPS groups included), those groups\n(`gitlab:acme/platform` for an upstream's) and that upstream passes; or, with --user, whether\nthat stored account passes with the groups its upstream last gave. Exit 0 when it passes, 1\nwhen not, 2 on bad arguments or an unknown user.",
      options: [
        ['--host HOST', 'the protected host, as the browser asks for it'],
        ['--path PATH', "the page's path and query, as the browser sent it (default /)"],
        ['--method METHOD', 'the request method (default GET)'],
        ['--ip ADDRESS', "the client's address (for trusted_networks)"],
        ['--user SUB', 'a stored account, by its sub, user name or e-mail (reads GATEWAY_STORE)'],
        ['--email EMAIL', "the user's e-mail; none: not signed in"],
        ['--group GROUP', "one of the user's groups (repeatable)"],
        ['--upstream ID', 'the upstream the user signed in through'],
      ],
      examples: [
        'npx gateway rules explain --host app.example.com --path /flower/tasks --email ada@example.com',
        'npx gateway rules explain --host app.example.com --path /hooks/ci --method POST --ip 10.20.0.5',
        'npx gateway rules explain --host app.example.com --path /flower --user ada@example.com',
      ],
      run: (args, io) =>
        withSettings(io, async (config) => (await import('./rules-command.ts')).runRulesExplain(args, config, io)),
    },
  },
};
