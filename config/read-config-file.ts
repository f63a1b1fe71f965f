import { readStructuredFile } from './read-structured-file.ts';

/** The settings found in a config file, or one sentence on why there are none. */
export type ConfigFileResult = { values: Record<string, unknown> } | { problem: string };

/** Reads the JSON or YAML file named by GATEWAY_CONFIG (see read-structured-file.ts). */
export function readConfigFile(path: string): ConfigFileResult {
  const read = readStructuredFile(path);
  if ('problem' in read) return read;
  const { data } = read;
  if (data === null || data === undefined) return { values: {} };
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { problem: `${path} must hold a mapping of setting names to values` };
  }
  return { values: data as Record<string, unknown> };
}
