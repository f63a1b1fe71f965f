/**
 * Reads GATEWAY_CLIENTS_FILE: a JSON (`.json`) or YAML (anything else) list of client metadata as
 * RFC 7591 §2 names it, plus the gateway's `first_party`, `resources` and
 * `introspection_audiences`. A mapping with a `clients:` list is accepted too. Parser messages are
 * not passed on: they quote the file, and the file holds client secrets; only the position is.
 */
import { readStructuredFile } from '../../config/read-structured-file.ts';
import { ClientRegistryError } from './client-registry.ts';

function invalid(message: string): never {
  throw new ClientRegistryError('invalid_client_file', message);
}

/** The file's entries (not yet checked one by one: see `checkClientsFile`). */
export function readClientsFile(path: string): unknown[] {
  const read = readStructuredFile(path, `the clients file ${path}`);
  if ('problem' in read) invalid(read.problem);
  let { data } = read;
  if (data === null || data === undefined) return [];
  if (!Array.isArray(data) && typeof data === 'object' && Object.keys(data).join() === 'clients') {
    data = (data as { clients: unknown }).clients;
  }
  if (!Array.isArray(data)) invalid(`${path} must hold a list of clients (each a mapping of client metadata)`);
  return data as unknown[];
}
