import { readFileSync } from 'node:fs';
import { parse as parseYaml, YAMLParseError } from 'yaml';

/** The settings found in a config file, or one sentence on why there are none. */
export type ConfigFileResult = { values: Record<string, unknown> } | { problem: string };

/**
 * Reads the JSON or YAML file named by GATEWAY_CONFIG: `.json` as JSON, anything else as YAML
 * (YAML 1.2 is a superset of JSON). Parser messages are not passed on, since they quote the
 * file's text and it may hold secrets; only the position is.
 */
export function readConfigFile(path: string): ConfigFileResult {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    return { problem: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  let data: unknown;
  if (/\.json$/i.test(path)) {
    try {
      data = JSON.parse(text);
    } catch (error) {
      const at = /line (\d+) column (\d+)/.exec(String((error as Error).message));
      return { problem: `${path} is not valid JSON${at ? ` (line ${at[1]}, column ${at[2]})` : ''}` };
    }
  } else {
    try {
      // logLevel 'error': throw on errors, but print no warnings to the console.
      data = parseYaml(text, { logLevel: 'error' });
    } catch (error) {
      const at = error instanceof YAMLParseError ? error.linePos?.[0] : undefined;
      const code = error instanceof YAMLParseError ? error.code : 'error';
      return { problem: `${path} is not valid YAML (${code}${at ? ` at line ${at.line}, column ${at.col}` : ''})` };
    }
  }
  if (data === null || data === undefined) return { values: {} };
  if (typeof data !== 'object' || Array.isArray(data)) {
    return { problem: `${path} must hold a mapping of setting names to values` };
  }
  return { values: data as Record<string, unknown> };
}
