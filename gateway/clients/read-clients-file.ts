/**
 * Reads GATEWAY_CLIENTS_FILE: a JSON (`.json`) or YAML (anything else) list of client metadata as
 * RFC 7591 §2 names it, plus the gateway's `first_party` and `resources`. A mapping with a
 * `clients:` list is accepted too. Parser messages are not passed on: they quote the file, and
 * the file holds client secrets; only the position is.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ClientRegistryError } from './client-registry.ts';

function invalid(message: string): never {
  throw new ClientRegistryError('invalid_client_file', message);
}

/** The file's entries (not yet checked one by one: see `checkClientsFile`). */
export function readClientsFile(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    return invalid(`cannot read the clients file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  let data: unknown;
  if (/\.json$/i.test(path)) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      const at = /line (\d+) column (\d+)/.exec(String((error as Error).message));
      invalid(`${path} is not valid JSON${at ? ` (line ${at[1]}, column ${at[2]})` : ''}`);
    }
  } else {
    try {
      data = parseYaml(text, { logLevel: 'error' });
    } catch (error) {
      const at = error instanceof YAMLParseError ? error.linePos?.[0] : undefined;
      const code = error instanceof YAMLParseError ? error.code : 'error';
      invalid(`${path} is not valid YAML (${code}${at ? ` at line ${at.line}, column ${at.col}` : ''})`);
    }
  }
  if (data === null || data === undefined) return [];
  if (!Array.isArray(data) && typeof data === 'object' && Object.keys(data).join() === 'clients') {
    data = (data as { clients: unknown }).clients;
  }
  if (!Array.isArray(data)) invalid(`${path} must hold a list of clients (each a mapping of client metadata)`);
  return data as unknown[];
}
