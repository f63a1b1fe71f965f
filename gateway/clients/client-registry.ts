/**
 * What an operator does with clients (`npx gateway clients …` and the clients file), on the store
 * every gateway instance reads. Every write goes through oidc-provider's Client model: first the
 * gateway's policy (check-client-policy.ts), then the provider's own schema, and only then one
 * write of the whole record, so a refused change leaves nothing behind.
 *
 * Why a change is visible to every instance at once: oidc-provider does not cache clients by id.
 * `Client.find` reads the adapter (the shared store) on every call and keeps only an LRU of Client
 * objects keyed by a hash of the stored metadata, so an updated record builds a new Client and a
 * removed one is "not found" on the very next request (authorization, token, introspection,
 * revocation, userinfo). Only the clients given in the provider's configuration (the dev-mode demo
 * app, tests' fixtures) are kept in memory, which is why the clients file is written to the store
 * instead.
 *
 * Operator writes of one client are serialised with a store lock, so two operators (or two
 * gateways reading the same clients file at start) cannot interleave a read and a write.
 */
import { isDeepStrictEqual } from 'node:util';
import type Provider from 'oidc-provider';
import type { ClientMetadata } from 'oidc-provider';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { withLock } from '../../adapters/with-lock.ts';
import { TOKEN_EXCHANGE_GRANT } from '../web/grant-types.ts';
import type { AuditSink } from '../web/audit.ts';
import { auditClientEvent, changedFields, type ClientActor } from './audit-client-event.ts';
import { checkClientPolicy, usesClientSecret, type ClientPolicySettings } from './check-client-policy.ts';
import { indexedClientIds } from './client-index.ts';
import { clientModel, findStoredClient, normalizeClientMetadata, type StoredClientMetadata } from './client-model.ts';
import { generateClientId, generateClientSecret } from './generate-client-secret.ts';
import { forgetPreviousSecrets, keepPreviousSecret, livePreviousSecrets } from './previous-secrets.ts';

/** Ids of the clients that came from GATEWAY_CLIENTS_FILE at the last start. */
const FILE_MANAGED_KEY = 'clients:file-managed';

/** Why an operator's request was refused; `code` is stable, `message` is one line for a person. */
export class ClientRegistryError extends Error {
  readonly code:
    | 'not_found'
    | 'already_exists'
    | 'id_retired'
    | 'file_managed'
    | 'no_secret'
    | 'invalid_client_id'
    | 'invalid_client_file'
    | 'invalid';
  constructor(code: ClientRegistryError['code'], message: string) {
    super(message);
    this.name = 'ClientRegistryError';
    this.code = code;
  }
}

/** A stored client as an operator sees it: never its secret. */
export interface ClientView {
  /** Its stored metadata, without `client_secret`. */
  metadata: StoredClientMetadata;
  /** `file` when GATEWAY_CLIENTS_FILE manages it (change it there), else `store`. */
  source: 'file' | 'store';
  /** Whether it has a secret (confidential, secret-based authentication). */
  hasSecret: boolean;
  /** When each previous secret still in its grace period stops working. */
  previousSecretsValidUntil: Date[];
}

export interface ClientRegistryDeps {
  provider: Provider;
  store: Store;
  /** The store's sealing: previous secrets are kept as its keyed hashes. */
  sealing: Sealing;
  log: AuditSink;
  /** Seconds an old secret keeps working after a rotation. */
  secretRotationGrace: number;
  /** What the registration policy needs of the settings (the outbound allow list). */
  policy: ClientPolicySettings;
}

/** The result of adding a client: its stored metadata (without secret) and, once, its secret. */
export interface AddedClient {
  /** Its stored metadata, without `client_secret`. */
  metadata: StoredClientMetadata;
  clientSecret: string | undefined;
}

export interface RotatedSecret {
  clientSecret: string;
  /** When the previous secret stops working; undefined when the grace is 0. */
  previousSecretValidUntil: Date | undefined;
}

/** What a clients-file sync did, by client id. */
export interface FileSyncResult {
  added: string[];
  updated: string[];
  removed: string[];
  unchanged: string[];
}

/** The metadata without `client_secret` (the type keeps the key optional; the value is gone). */
function withoutSecret(metadata: StoredClientMetadata): StoredClientMetadata {
  const { client_secret: _secret, ...rest } = metadata;
  return rest;
}

/** The lock every write of one client's record takes (also seal-legacy-clients.ts). */
export const clientLockKey = (clientId: string) => `lock:client:${clientId}`;

/**
 * Client ids an operator may choose: printable, no spaces (they travel in HTTP Basic credentials,
 * RFC 6749 §2.3.1, and in URLs), and not under `gateway-`, kept for the gateway's own clients
 * (forward auth), which would otherwise shadow a stored client with the same id.
 */
export function checkClientId(clientId: string): void {
  if (!/^[A-Za-z0-9._~-]{1,128}$/.test(clientId)) {
    throw new ClientRegistryError(
      'invalid_client_id',
      `client_id ${JSON.stringify(clientId.slice(0, 140))} may hold only letters, digits and . _ ~ - (at most 128)`,
    );
  }
  if (clientId.startsWith('-')) {
    throw new ClientRegistryError(
      'invalid_client_id',
      `client_id ${clientId}: an id may not start with "-" (the CLI would read it as an option)`,
    );
  }
  if (clientId.startsWith('gateway-')) {
    throw new ClientRegistryError(
      'invalid_client_id',
      `client_id ${clientId}: ids starting with "gateway-" are kept for the gateway's own clients`,
    );
  }
}

export function createClientRegistry(deps: ClientRegistryDeps) {
  const { provider, store, log } = deps;
  const Client = clientModel(provider);

  async function fileManagedIds(): Promise<string[]> {
    return (await store.get<string[]>(FILE_MANAGED_KEY)) ?? [];
  }

  async function view(metadata: StoredClientMetadata, fileIds: readonly string[]): Promise<ClientView> {
    const previous = await livePreviousSecrets(store, metadata.client_id);
    return {
      metadata: withoutSecret(metadata),
      source: fileIds.includes(metadata.client_id) ? 'file' : 'store',
      hasSecret: typeof metadata.client_secret === 'string' && metadata.client_secret !== '',
      previousSecretsValidUntil: previous.map((entry) => new Date(entry.notAfter)),
    };
  }

  async function refuseFileManaged(clientId: string, instead: string): Promise<void> {
    if ((await fileManagedIds()).includes(clientId)) {
      throw new ClientRegistryError(
        'file_managed',
        `client ${clientId} comes from GATEWAY_CLIENTS_FILE: ${instead} and restart the gateways`,
      );
    }
  }

  async function mustFind(clientId: string): Promise<StoredClientMetadata> {
    const found = await findStoredClient(provider, clientId);
    if (!found) throw new ClientRegistryError('not_found', `no client with id ${clientId}`);
    return found;
  }

  return {
    /**
     * Registers a client. Without `client_id` one is generated; a confidential client that
     * authenticates with a secret gets a new one, returned here once and never again.
     */
    async add(input: Partial<ClientMetadata>, actor: ClientActor): Promise<AddedClient> {
      const clientId =
        typeof input.client_id === 'string' && input.client_id !== '' ? input.client_id : generateClientId();
      checkClientId(clientId);
      return withLock(store, clientLockKey(clientId), async () => {
        if (await findStoredClient(provider, clientId)) {
          throw new ClientRegistryError('already_exists', `a client with id ${clientId} already exists`);
        }
        // Grants and refresh tokens name their client by id and outlive its removal: a new client
        // under a removed one's id would inherit its users' consents and tokens.
        if ((await indexedClientIds(store)).includes(clientId)) {
          throw new ClientRegistryError(
            'id_retired',
            `client id ${clientId} belonged to a removed client; choose another id (its old grants and tokens must not pass to a new client)`,
          );
        }
        const candidate: ClientMetadata = {
          ...input,
          client_id: clientId,
          client_id_issued_at: Math.floor(Date.now() / 1000),
        };
        delete candidate['client_secret'];
        const clientSecret = usesClientSecret(candidate) ? generateClientSecret() : undefined;
        if (clientSecret) candidate.client_secret = clientSecret;
        checkClientPolicy(candidate, actor.via, deps.policy);
        const metadata = normalizeClientMetadata(provider, candidate);
        await Client.adapter.upsert(clientId, metadata);
        auditClientEvent(log, 'client.registered', { clientId, actor, fields: Object.keys(input) });
        return { metadata: withoutSecret(metadata), clientSecret };
      });
    },

    /** Every stored client, by id. */
    async list(): Promise<ClientView[]> {
      const fileIds = await fileManagedIds();
      const ids = [...new Set([...(await indexedClientIds(store)), ...fileIds])].sort();
      const found = await Promise.all(ids.map((id) => findStoredClient(provider, id)));
      return Promise.all(found.filter((metadata) => metadata !== undefined).map((metadata) => view(metadata, fileIds)));
    },

    /** One client, or undefined. */
    async show(clientId: string): Promise<ClientView | undefined> {
      const found = await findStoredClient(provider, clientId);
      return found ? view(found, await fileManagedIds()) : undefined;
    },

    /**
     * Removes a client: every gateway refuses it from the next request on (its refresh tokens and
     * stored access tokens included, since they are looked up with their client).
     */
    async remove(clientId: string, actor: ClientActor): Promise<void> {
      await withLock(store, clientLockKey(clientId), async () => {
        await refuseFileManaged(clientId, 'remove it there');
        await mustFind(clientId);
        await Client.adapter.destroy(clientId);
        await forgetPreviousSecrets(store, clientId);
        auditClientEvent(log, 'client.removed', { clientId, actor });
      });
    },

    /**
     * Gives a client a new secret, returned once. The old one keeps working for the grace period
     * (previous-secrets.ts), so the app can be redeployed in between.
     */
    async rotateSecret(clientId: string, actor: ClientActor): Promise<RotatedSecret> {
      return withLock(store, clientLockKey(clientId), async () => {
        await refuseFileManaged(clientId, 'change its client_secret there');
        const current = await mustFind(clientId);
        if (!usesClientSecret(current) || typeof current.client_secret !== 'string') {
          throw new ClientRegistryError(
            'no_secret',
            `client ${clientId} authenticates with ${String(current.token_endpoint_auth_method)}: it has no secret to rotate`,
          );
        }
        const clientSecret = generateClientSecret();
        const metadata = normalizeClientMetadata(provider, { ...current, client_secret: clientSecret });
        // Grace first, new secret second: if the second write fails, the entry kept for the old
        // secret (still the current one) is harmless and expires by itself.
        const previousSecretValidUntil = await keepPreviousSecret(
          store,
          deps.sealing,
          clientId,
          current.client_secret,
          deps.secretRotationGrace,
        );
        await Client.adapter.upsert(clientId, metadata);
        auditClientEvent(log, 'client.secret_rotated', {
          clientId,
          actor,
          ...(previousSecretValidUntil ? { previousSecretValidUntil: previousSecretValidUntil.toISOString() } : {}),
        });
        return { clientSecret, previousSecretValidUntil };
      });
    },

    /**
     * Lets client `from` exchange the user tokens it holds for tokens meant for client `to`
     * (RFC 8693 delegation: token-exchange.ts): `to` joins `from`'s `token_exchange_audiences`,
     * and `from` gets the token-exchange grant (the client policy then holds: confidential only).
     */
    async allowExchange(from: string, to: string, actor: ClientActor): Promise<StoredClientMetadata> {
      return withLock(store, clientLockKey(from), async () => {
        await refuseFileManaged(from, 'add token_exchange_audiences and the token-exchange grant there');
        const current = await mustFind(from);
        await mustFind(to);
        if (from === to)
          throw new ClientRegistryError('invalid', 'a client exchanges tokens for another client, not itself');
        const audiences = Array.isArray(current['token_exchange_audiences'])
          ? (current['token_exchange_audiences'] as string[])
          : [];
        const grants = current.grant_types ?? ['authorization_code', 'refresh_token'];
        const candidate: ClientMetadata = {
          ...current,
          grant_types: [...new Set([...grants, TOKEN_EXCHANGE_GRANT])],
          token_exchange_audiences: [...new Set([...audiences, to])],
        };
        checkClientPolicy(candidate, actor.via, deps.policy);
        const metadata = normalizeClientMetadata(provider, candidate);
        await Client.adapter.upsert(from, metadata);
        auditClientEvent(log, 'client.updated', {
          clientId: from,
          actor,
          fields: ['grant_types', 'token_exchange_audiences'],
        });
        return withoutSecret(metadata);
      });
    },

    /**
     * Makes the store hold exactly the clients of the file among those the file manages: new ones
     * added, changed ones updated (a changed secret gets the rotation grace), and the ones no longer
     * in the file removed. Every entry is checked before anything is written; the first bad one
     * refuses the whole file.
     */
    async syncFile(entries: readonly unknown[], file: string): Promise<FileSyncResult> {
      const actor: ClientActor = { via: 'file', file };
      const targets = checkClientsFile(provider, entries, file, deps.policy);
      return withLock(store, 'lock:clients-file', async () => {
        const result: FileSyncResult = { added: [], updated: [], removed: [], unchanged: [] };
        for (const target of targets) {
          const current = await findStoredClient(provider, target.client_id);
          const metadata = normalizeClientMetadata(provider, {
            ...target,
            client_id_issued_at: current?.client_id_issued_at ?? Math.floor(Date.now() / 1000),
          });
          if (current && isDeepStrictEqual(current, metadata)) {
            result.unchanged.push(target.client_id);
            continue;
          }
          let previousSecretValidUntil: Date | undefined;
          if (typeof current?.client_secret === 'string' && current.client_secret !== metadata.client_secret) {
            previousSecretValidUntil = await keepPreviousSecret(
              store,
              deps.sealing,
              target.client_id,
              current.client_secret,
              deps.secretRotationGrace,
            );
          }
          await Client.adapter.upsert(target.client_id, metadata);
          const clientId = target.client_id;
          if (current) {
            result.updated.push(clientId);
            auditClientEvent(log, 'client.updated', { clientId, actor, fields: changedFields(current, metadata) });
            if (current.client_secret !== metadata.client_secret) {
              auditClientEvent(log, 'client.secret_rotated', {
                clientId,
                actor,
                ...(previousSecretValidUntil
                  ? { previousSecretValidUntil: previousSecretValidUntil.toISOString() }
                  : {}),
              });
            }
          } else {
            result.added.push(clientId);
            auditClientEvent(log, 'client.registered', { clientId, actor, fields: Object.keys(target) });
          }
        }
        const fileIds = targets.map((target) => target.client_id);
        for (const clientId of await fileManagedIds()) {
          if (fileIds.includes(clientId) || !(await findStoredClient(provider, clientId))) continue;
          await Client.adapter.destroy(clientId);
          await forgetPreviousSecrets(store, clientId);
          result.removed.push(clientId);
          auditClientEvent(log, 'client.removed', { clientId, actor });
        }
        await store.set(FILE_MANAGED_KEY, fileIds);
        return result;
      });
    },
  };
}

/** The registry's operations. */
export type ClientRegistry = ReturnType<typeof createClientRegistry>;

/**
 * Checks every entry of a clients file against the policy and oidc-provider's schema, without
 * writing anything. Throws a ClientRegistryError naming the entry and what to fix.
 */
export function checkClientsFile(
  provider: Provider,
  entries: readonly unknown[],
  file: string,
  policy: ClientPolicySettings,
): StoredClientMetadata[] {
  const seen = new Set<string>();
  return entries.map((entry, index) => {
    const where = (id?: string) => `${file}: clients[${index}]${id ? ` (${id})` : ''}`;
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
      throw new ClientRegistryError(
        'invalid_client_file',
        `${where()}: each client must be a mapping of client metadata`,
      );
    }
    const metadata = entry as ClientMetadata;
    const id = metadata.client_id;
    if (typeof id !== 'string' || id.trim() === '') {
      throw new ClientRegistryError('invalid_client_file', `${where()}: client_id is required (a non-empty string)`);
    }
    try {
      checkClientId(id);
    } catch (error) {
      throw new ClientRegistryError('invalid_client_file', `${where(id)}: ${(error as Error).message}`);
    }
    if (seen.has(id)) throw new ClientRegistryError('invalid_client_file', `${where(id)}: client_id appears twice`);
    seen.add(id);
    try {
      checkClientPolicy(metadata as Record<string, unknown>, 'file', policy);
      return normalizeClientMetadata(provider, metadata);
    } catch (error) {
      const description = (error as { error_description?: string }).error_description;
      if (description === undefined) throw error;
      throw new ClientRegistryError('invalid_client_file', `${where(id)}: ${description}`);
    }
  });
}
