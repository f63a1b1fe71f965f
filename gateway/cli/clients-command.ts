/**
 * `npx gateway clients add|list|show|remove|rotate-secret`: the operator's door to the clients
 * every gateway instance reads from the shared store (see client-registry.ts for why a change is
 * visible to all of them at once).
 *
 * Secrets are printed once, by `add` and `rotate-secret`, and never by `list` or `show`. Bad input
 * ends with one line on stderr and exit code 2; a refused operation (unknown client, ...) with
 * exit code 1. `--json` prints one JSON document on stdout for scripts. Audit events go to stderr
 * as JSON lines (cli-log.ts).
 */
import { readFileSync } from 'node:fs';
import type { ClientMetadata } from 'oidc-provider';
import type { Config } from '../../config/config-type.ts';
import type { ClientActor } from '../clients/audit-client-event.ts';
import { CLIENT_CREDENTIALS_GRANT, DEVICE_CODE_GRANT, TOKEN_EXCHANGE_GRANT } from '../web/grant-types.ts';
import { ClientRegistryError, type ClientRegistry, type ClientView } from '../clients/client-registry.ts';
import { clientRegistryOn } from './open-client-registry.ts';
import { formatTable } from './format-table.ts';
import { parseCommandArgs, UsageError } from './parse-command-args.ts';
import type { CliIo } from './cli-command.ts';
import { cliActor, cliLog } from './cli-log.ts';
import { withCliStore } from './with-cli-store.ts';

/** The subcommands (their usage: clients-cli.ts). */
export type ClientsSubcommand = 'add' | 'list' | 'show' | 'remove' | 'rotate-secret' | 'allow-exchange';

const addOptions = {
  'redirect-uri': { type: 'string', multiple: true },
  name: { type: 'string' },
  id: { type: 'string' },
  public: { type: 'boolean' },
  'auth-method': { type: 'string' },
  'jwks-uri': { type: 'string' },
  'post-logout-redirect-uri': { type: 'string', multiple: true },
  'backchannel-logout-uri': { type: 'string' },
  'first-party': { type: 'boolean' },
  resource: { type: 'string', multiple: true },
  'introspection-audience': { type: 'string', multiple: true },
  'allowed-upstream': { type: 'string', multiple: true },
  'token-exchange': { type: 'boolean' },
  grant: { type: 'string', multiple: true },
  scope: { type: 'string', multiple: true },
  metadata: { type: 'string' },
  json: { type: 'boolean' },
} as const;

function readMetadataOption(value: string | undefined): Partial<ClientMetadata> {
  if (value === undefined) return {};
  let text = value;
  if (value.startsWith('@')) {
    try {
      text = readFileSync(value.slice(1), 'utf8');
    } catch (error) {
      throw new UsageError(
        `--metadata: cannot read ${value.slice(1)} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new UsageError('--metadata must be a JSON object (or @FILE holding one)');
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data))
    throw new UsageError('--metadata must be a JSON object (or @FILE holding one)');
  return data as Partial<ClientMetadata>;
}

/** `--grant` names: the grant types an operator may add to a client. */
const GRANTS: Record<string, string> = {
  client_credentials: CLIENT_CREDENTIALS_GRANT,
  device_code: DEVICE_CODE_GRANT,
};

function addInput(values: ReturnType<typeof parseCommandArgs<typeof addOptions>>['values']): Partial<ClientMetadata> {
  const metadata: Partial<ClientMetadata> = { ...readMetadataOption(values.metadata) };
  if ('client_secret' in metadata)
    throw new UsageError('--metadata must not carry client_secret: the gateway generates it');
  if (values.public && values['auth-method'] !== undefined && values['auth-method'] !== 'none') {
    throw new UsageError('--public and --auth-method contradict each other');
  }
  if (values['redirect-uri']) metadata.redirect_uris = values['redirect-uri'];
  if (values.name !== undefined) metadata.client_name = values.name;
  if (values.id !== undefined) metadata.client_id = values.id;
  if (values.public) metadata.token_endpoint_auth_method = 'none';
  if (values['auth-method'] !== undefined)
    metadata.token_endpoint_auth_method = values['auth-method'] as ClientMetadata['token_endpoint_auth_method'];
  if (values['jwks-uri'] !== undefined) metadata.jwks_uri = values['jwks-uri'];
  if (values['post-logout-redirect-uri']) metadata.post_logout_redirect_uris = values['post-logout-redirect-uri'];
  if (values['backchannel-logout-uri'] !== undefined)
    metadata['backchannel_logout_uri'] = values['backchannel-logout-uri'];
  if (values['first-party']) metadata['first_party'] = true;
  if (values.resource) metadata['resources'] = values.resource;
  if (values['introspection-audience']) metadata['introspection_audiences'] = values['introspection-audience'];
  if (values['allowed-upstream']) metadata['allowed_upstreams'] = values['allowed-upstream'];
  if (values['token-exchange']) {
    metadata.grant_types = [
      ...new Set([...(metadata.grant_types ?? ['authorization_code', 'refresh_token']), TOKEN_EXCHANGE_GRANT]),
    ];
  }
  for (const grant of values.grant ?? []) {
    const full = GRANTS[grant];
    if (full === undefined)
      throw new UsageError(
        '--grant takes client_credentials or device_code (the code flow and refresh are the default)',
      );
    // Without a redirect URI, no code flow (so no response type either): a machine, or a device
    // that keeps its sign-in with refresh tokens.
    const codeFlow = metadata.redirect_uris !== undefined;
    const base = codeFlow
      ? ['authorization_code', 'refresh_token']
      : full === DEVICE_CODE_GRANT
        ? ['refresh_token']
        : [];
    metadata.grant_types = [...new Set([...(metadata.grant_types ?? base), full])];
    if (!codeFlow) {
      metadata.response_types = [];
      metadata.redirect_uris = [];
    }
  }
  if (values.scope)
    metadata.scope = values.scope
      .flatMap((scope) => scope.split(' '))
      .filter(Boolean)
      .join(' ');
  if (metadata.redirect_uris === undefined)
    throw new UsageError(
      'clients add needs at least one --redirect-uri (or --grant client_credentials for a machine, device_code for a device)',
    );
  return metadata;
}

function clientType(view: ClientView): string {
  return view.metadata.token_endpoint_auth_method === 'none' ? 'public' : 'confidential';
}

function viewJson(view: ClientView): object {
  return {
    ...view.metadata,
    source: view.source,
    has_secret: view.hasSecret,
    previous_secrets_valid_until: view.previousSecretsValidUntil.map((date) => date.toISOString()),
  };
}

function showText(view: ClientView): string {
  const lines = Object.entries({ ...view.metadata, source: view.source }).map(
    ([key, value]) =>
      `${`${key}:`.padEnd(28)} ${Array.isArray(value) ? value.join(', ') : typeof value === 'object' ? JSON.stringify(value) : String(value)}`,
  );
  lines.push(
    `${'client_secret:'.padEnd(28)} ${view.hasSecret ? '(set; shown only when created or rotated)' : '(none)'}`,
  );
  for (const until of view.previousSecretsValidUntil)
    lines.push(`${'previous secret valid until:'.padEnd(28)} ${until.toISOString()}`);
  return `${lines.join('\n')}\n`;
}

function listText(views: ClientView[]): string {
  if (views.length === 0) return 'no clients\n';
  const rows = views.map((view) => [
    view.metadata.client_id,
    clientType(view),
    view.metadata['first_party'] === true ? 'yes' : 'no',
    view.source,
    view.metadata.client_name ?? '',
    (view.metadata.redirect_uris ?? []).join(' '),
  ]);
  return formatTable(['CLIENT_ID', 'TYPE', 'FIRST_PARTY', 'SOURCE', 'NAME', 'REDIRECT_URIS'], rows);
}

/**
 * Runs `clients <subcommand> ...args` and returns the exit code. `config` is the gateway's own
 * configuration (same loader, same environment), so the CLI opens the store the gateways use. Bad
 * arguments throw a UsageError (exit code 2, run-cli.ts) before the store is opened.
 */
export async function runClientsCommand(
  subcommand: ClientsSubcommand,
  args: string[],
  config: Config,
  io: CliIo,
): Promise<number> {
  const run = prepare(subcommand, args);
  if (config.store.startsWith('memory:')) {
    throw new UsageError(
      "GATEWAY_STORE=memory:// lives inside one process, so the CLI cannot reach a gateway's clients; use the sqlite:// or redis:// store the gateways use",
    );
  }
  return withCliStore(config, io, async (store) => {
    const registry = await clientRegistryOn(config, store, cliLog(io, config.logLevel)).catch((error: unknown) => {
      throw new Error(`cannot open the store: ${(error as Error).message}`);
    });
    try {
      await run(registry, io);
      return 0;
    } catch (error) {
      return refusal(error, io);
    }
  });
}

/** The exit code of a refused operation, its reason on stderr; anything else is thrown on. */
function refusal(error: unknown, io: CliIo): number {
  if (error instanceof ClientRegistryError) {
    io.stderr(`gateway: ${error.message}\n`);
    return error.code === 'invalid_client_id' ? 2 : 1;
  }
  const oauth = error as { error?: string; error_description?: string };
  if (typeof oauth.error === 'string' && typeof oauth.error_description === 'string') {
    // The policy's or oidc-provider's refusal: it names the field and what to change.
    io.stderr(`gateway: ${oauth.error}: ${oauth.error_description}\n`);
    return 2;
  }
  throw error;
}

type Runner = (registry: ClientRegistry, io: CliIo) => Promise<void>;

/** Parses the arguments first, so bad input is refused before the store is opened. */
function prepare(subcommand: ClientsSubcommand, args: string[]): Runner {
  const actor: ClientActor = cliActor();
  switch (subcommand) {
    case 'add': {
      const { values } = parseCommandArgs(args, addOptions);
      const input = addInput(values);
      return async (registry, io) => {
        const added = await registry.add(input, actor);
        const id = added.metadata.client_id;
        if (values.json) {
          io.stdout(
            `${JSON.stringify({ ...added.metadata, ...(added.clientSecret ? { client_secret: added.clientSecret } : {}) }, null, 2)}\n`,
          );
          return;
        }
        const lines = [
          `registered client ${id}${added.metadata.client_name ? ` (${added.metadata.client_name})` : ''}`,
          `client_id:     ${id}`,
        ];
        if (added.clientSecret) {
          lines.push(
            `client_secret: ${added.clientSecret}`,
            'Store the secret now: it is shown only this once (rotate-secret makes a new one).',
          );
        } else {
          lines.push('no client secret: this client authenticates without one');
        }
        io.stdout(`${lines.join('\n')}\n`);
      };
    }
    case 'list': {
      const { values } = parseCommandArgs(args, { json: { type: 'boolean' } });
      return async (registry, io) => {
        const views = await registry.list();
        io.stdout(values.json ? `${JSON.stringify(views.map(viewJson), null, 2)}\n` : listText(views));
      };
    }
    case 'show': {
      const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } }, ['CLIENT_ID']);
      const id = positionals[0] ?? '';
      return async (registry, io) => {
        const view = await registry.show(id);
        if (!view) throw new ClientRegistryError('not_found', `no client with id ${id}`);
        io.stdout(values.json ? `${JSON.stringify(viewJson(view), null, 2)}\n` : showText(view));
      };
    }
    case 'remove': {
      const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } }, ['CLIENT_ID']);
      const id = positionals[0] ?? '';
      return async (registry, io) => {
        await registry.remove(id, actor);
        io.stdout(values.json ? `${JSON.stringify({ client_id: id, removed: true })}\n` : `removed client ${id}\n`);
      };
    }
    case 'allow-exchange': {
      const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } }, ['FROM', 'TO']);
      const [from = '', to = ''] = positionals;
      return async (registry, io) => {
        const updated = await registry.allowExchange(from, to, actor);
        io.stdout(
          values.json
            ? `${JSON.stringify({ client_id: from, token_exchange_audiences: updated['token_exchange_audiences'] })}\n`
            : `client ${from} may now exchange a user's token for one for ${to} (token exchange, audience=${to})\n`,
        );
      };
    }
    case 'rotate-secret': {
      const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean' } }, ['CLIENT_ID']);
      const id = positionals[0] ?? '';
      return async (registry, io) => {
        const rotated = await registry.rotateSecret(id, actor);
        const until = rotated.previousSecretValidUntil?.toISOString();
        if (values.json) {
          io.stdout(
            `${JSON.stringify({ client_id: id, client_secret: rotated.clientSecret, previous_secret_valid_until: until ?? null }, null, 2)}\n`,
          );
          return;
        }
        io.stdout(
          `${[
            `client_id:     ${id}`,
            `client_secret: ${rotated.clientSecret}`,
            'Store the secret now: it is shown only this once.',
            until ? `The previous secret keeps working until ${until}.` : 'The previous secret no longer works.',
          ].join('\n')}\n`,
        );
      };
    }
  }
}
