import { readFileSync } from 'node:fs';
import { loadYaml } from './load-on-first-use.ts';

/**
 * Reads a JSON (`.json`) or YAML (anything else; YAML 1.2 is a superset of JSON) file: the
 * settings file and the clients file alike. Parser messages are not passed on, since they quote
 * the file's text and it may hold secrets; only the position is. `what` names the file in the
 * "cannot read" sentence.
 */
export function readStructuredFile(path: string, what = path): { data: unknown } | { problem: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').replace(/^\uFEFF/, '');
  } catch (error) {
    return { problem: `cannot read ${what} (${(error as NodeJS.ErrnoException).code ?? 'error'})` };
  }
  if (/\.json$/i.test(path)) {
    try {
      return { data: JSON.parse(text) };
    } catch (error) {
      const at = /line (\d+) column (\d+)/.exec(String((error as Error).message));
      return { problem: `${path} is not valid JSON${at ? ` (line ${at[1]}, column ${at[2]})` : ''}` };
    }
  }
  const { parse: parseYaml, YAMLParseError } = loadYaml();
  try {
    // logLevel 'error': throw on errors, but print no warnings to the console.
    return { data: parseYaml(text, { logLevel: 'error' }) };
  } catch (error) {
    const at = error instanceof YAMLParseError ? error.linePos?.[0] : undefined;
    const code = error instanceof YAMLParseError ? error.code : 'error';
    return { problem: `${path} is not valid YAML (${code}${at ? ` at line ${at.line}, column ${at.col}` : ''})` };
  }
}
