/**
 * The `clients` commands of `npx gateway`: their usage, and their code loaded only when one runs
 * (clients-command.ts, which brings oidc-provider and the store clients).
 */
import type { CliCommand, CliGroup } from './cli-command.ts';
import { withSettings } from './with-cli-store.ts';
import type { ClientsSubcommand } from './clients-command.ts';

const JSON_OPTION = ['--json', 'one JSON document on stdout, for scripts'] as const;

function run(subcommand: ClientsSubcommand): CliCommand['run'] {
  return (args, io) =>
    withSettings(io, async (config) =>
      (await import('./clients-command.ts')).runClientsCommand(subcommand, args, config, io),
    );
}

export const clientsCli: CliGroup = {
  summary:
    'The apps (OAuth clients) every gateway instance accepts, kept in the store they share:\na change applies to all of them at once.',
  commands: {
    add: {
      arguments: '--redirect-uri URI [--redirect-uri URI ...] [options] | --grant GRANT [options]',
      summary: 'register a client; prints its client_id and, once, its secret',
      description:
        'Registers a client under the same rules as dynamic registration and the clients file, and\nprints its client_id and, this once only, its secret.',
      options: [
        [
          '--redirect-uri URI',
          'where the client receives its code (repeatable): https,\nor http on a loopback address',
        ],
        ['--name NAME', 'client_name shown on the consent page'],
        ['--id ID', 'choose the client_id (default: generated)'],
        ['--public', 'a public client (SPA, native app): no secret, PKCE S256'],
        ['--auth-method METHOD', 'client_secret_basic (default), client_secret_post,\nprivate_key_jwt or none'],
        ['--jwks-uri URI', "the client's keys (private_key_jwt)"],
        ['--post-logout-redirect-uri URI', 'where RP-initiated logout may return (repeatable)'],
        ['--backchannel-logout-uri URI', 'where the gateway posts logout tokens'],
        ['--first-party', 'trusted app of your own: no consent screen'],
        ['--resource URI', 'an API audience the client may get tokens for (repeatable)'],
        [
          '--introspection-audience AUD',
          'a resource server: it may introspect access tokens whose aud\nis AUD (a resource URI or a client id; repeatable)',
        ],
        [
          '--allowed-upstream ID',
          'its users sign in only through this upstream (an id of\nGATEWAY_UPSTREAMS; repeatable; default: any)',
        ],
        [
          '--token-exchange',
          "may exchange its gateway token for the user's upstream (Google)\ntoken, if the user consents (upstream_token scope);\nconfidential clients only",
        ],
        [
          '--grant GRANT',
          'client_credentials: may get tokens for itself, no user (RFC 6749\n§4.4), for its --resource APIs and --scope scopes only;\ndevice_code: may sign users in on a device (RFC 8628), e.g. a CLI\n(with --public); without --redirect-uri, nothing else',
        ],
        ['--scope SCOPE', "the client's registered scopes (repeatable, or space-separated)"],
        ['--metadata JSON|@FILE', 'any other RFC 7591 metadata, as a JSON object'],
        JSON_OPTION,
      ],
      examples: [
        'npx gateway clients add --name Shop --redirect-uri https://shop.example.com/oidc/callback',
        'npx gateway clients add --id billing-worker --grant client_credentials --resource https://api.example.com --scope reports:read',
        'npx gateway clients add --id acme-cli --name "Acme CLI" --public --grant device_code --resource https://api.example.com',
        'npx gateway clients add --name Dashboard --public --redirect-uri https://dash.example.com/callback',
      ],
      run: run('add'),
    },
    list: {
      arguments: '[--json]',
      summary: 'every client (never a secret)',
      options: [JSON_OPTION],
      examples: ['npx gateway clients list'],
      run: run('list'),
    },
    show: {
      arguments: 'CLIENT_ID [--json]',
      summary: 'one client (never its secret)',
      options: [JSON_OPTION],
      examples: ['npx gateway clients show shop --json'],
      run: run('show'),
    },
    remove: {
      arguments: 'CLIENT_ID [--json]',
      summary: 'remove a client; every gateway refuses it at once',
      options: [JSON_OPTION],
      examples: ['npx gateway clients remove shop'],
      run: run('remove'),
    },
    'allow-exchange': {
      arguments: 'FROM TO [--json]',
      summary: "let app FROM exchange a user's token for one for API TO (delegation)",
      description:
        "Lets the confidential client FROM, holding a user's access token, get a token for the\nclient TO to call it as the user (RFC 8693 token exchange with audience=TO): down-scoped to\nTO's registered scopes, short-lived, with `act` naming FROM, and ended with the user's\ngrant. Gives FROM the token-exchange grant.",
      options: [JSON_OPTION],
      examples: ['npx gateway clients allow-exchange shop billing-api'],
      run: run('allow-exchange'),
    },
    'rotate-secret': {
      arguments: 'CLIENT_ID [--json]',
      summary: 'a new secret, printed once; the old one keeps working for a grace period',
      description:
        'Gives a client a new secret, printed this once only. The old secret keeps working for\nGATEWAY_SECRET_ROTATION_GRACE seconds, so the app can be redeployed with the new one.',
      options: [JSON_OPTION],
      examples: ['npx gateway clients rotate-secret shop'],
      run: run('rotate-secret'),
    },
  },
};
