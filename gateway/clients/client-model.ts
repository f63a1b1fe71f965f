/**
 * oidc-provider's Client model as the gateway uses it outside a request: its constructor runs the
 * provider's whole metadata schema (types, enums, defaults, `extraClientMetadata`), and its
 * adapter is the one the provider reads clients from, so a client written here is read back by
 * every gateway instance exactly as if it had registered over HTTP. @types/oidc-provider does not
 * declare the constructor or the static adapter, hence this one typed view.
 */
import type Provider from 'oidc-provider';
import type { Adapter, ClientMetadata } from 'oidc-provider';

/** A client's metadata as oidc-provider stores it (snake_case, defaults filled in). */
export type StoredClientMetadata = ClientMetadata & { client_id: string };

/** The parts of oidc-provider's Client class the registry needs. */
export interface ClientModel {
  /** Validates `metadata` with the provider's schema; throws `InvalidClientMetadata`. */
  new (metadata: ClientMetadata): { readonly clientId: string; metadata(): ClientMetadata };
  /**
   * The adapter instance for the `Client` model (created on first use); `findStored` reads the
   * store itself, past the serving gateway's one-second copies (client-cache.ts).
   */
  readonly adapter: Adapter & { findStored?: Adapter['find'] };
}

export function clientModel(provider: Provider): ClientModel {
  return provider.Client as unknown as ClientModel;
}

/** Validates `metadata` as the provider would and returns it as it would be stored. */
export function normalizeClientMetadata(provider: Provider, metadata: ClientMetadata): StoredClientMetadata {
  const Client = clientModel(provider);
  // A JSON round trip: what the store will hold, so comparisons with a stored copy are exact.
  return JSON.parse(JSON.stringify(new Client(metadata).metadata())) as StoredClientMetadata;
}

/**
 * The stored metadata of client `id`, or undefined: read from the store itself, never from a kept
 * copy, since the registry changes what it reads here (under the client's lock).
 */
export async function findStoredClient(provider: Provider, id: string): Promise<StoredClientMetadata | undefined> {
  const { adapter } = clientModel(provider);
  const found = await (adapter.findStored ?? adapter.find).call(adapter, id);
  return found ? (found as StoredClientMetadata) : undefined;
}
