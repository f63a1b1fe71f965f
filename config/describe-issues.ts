import type { z } from 'zod';
import { settingsShape } from './schema.ts';

/**
 * One line per problem, `NAME: what is wrong`. Messages come from the settings' own parsers,
 * which never quote a secret; the issues' `input` is never read for the same reason.
 * `fileKeys` are the keys whose value came from the config file at `filePath`.
 */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  fileKeys: ReadonlySet<string>,
  filePath?: string,
): string[] {
  const lines = issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => describeUnknownKey(key, fileKeys.has(key) ? filePath : undefined));
    }
    const [name] = issue.path;
    return [typeof name === 'string' ? `${name}: ${issue.message}` : issue.message];
  });
  return [...new Set(lines)];
}

/**
 * Settings an earlier version read, and what took their place: refused with that news rather
 * than as a typo, so an operator upgrading learns what to do.
 */
const retiredSettings: Readonly<Record<string, string>> = {
  GATEWAY_RATE_LIMIT:
    'replaced by failure-based limits, which never refuse successful traffic: GATEWAY_ADDRESS_FAILURE_LIMIT, GATEWAY_SIGN_IN_LIMIT (see docs/SETTINGS.md); remove it',
  GATEWAY_TOKEN_RATE_LIMIT:
    'replaced by failure-based limits, which never refuse successful traffic: GATEWAY_CLIENT_FAILURE_LIMIT, GATEWAY_ADDRESS_FAILURE_LIMIT (see docs/SETTINGS.md); remove it',
};

/** "unknown setting GATEWAY_FOO", with where it was found and the likely intended name. */
export function describeUnknownKey(key: string, filePath?: string): string {
  const where = filePath === undefined ? '' : ` in ${filePath}`;
  const retired = retiredSettings[key.toUpperCase()];
  if (retired !== undefined) return `${key}${where}: ${retired}`;
  const guess = closestSettingName(key);
  return `unknown setting ${key}${where}${guess === undefined ? '' : ` (did you mean ${guess}?)`}`;
}

function closestSettingName(key: string): string | undefined {
  let best: string | undefined;
  let bestDistance = 3; // further than 2 edits is no longer a typo
  for (const name of Object.keys(settingsShape)) {
    const distance = editDistance(key.toUpperCase(), name);
    if (distance < bestDistance) [best, bestDistance] = [name, distance];
  }
  return best;
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      row.push(Math.min((previous[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, substitution));
    }
    previous = row;
  }
  return previous[b.length] ?? 0;
}
