import type { Config } from './config-type.ts';
import { deepFreeze } from './deep-freeze.ts';
import { describeIssues } from './describe-issues.ts';
import { readConfigFile } from './read-config-file.ts';
import { configSchema, isSettingName, settingMeta } from './schema.ts';

/** A frozen configuration, or every problem found, one line each. */
export type LoadResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Names that belong to the gateway: an unknown one among them is a typo, not someone else's. */
const ownPrefixes = /^(?:GATEWAY|UPSTREAM)_/;

/**
 * Reads the settings from `env` and from the file named by GATEWAY_CONFIG (the environment wins),
 * validates them all, and returns the deep-frozen `Config` or all problems at once. This is the
 * only code that reads `process.env`. An empty value counts as unset. Never throws on bad input.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): LoadResult {
  const problems: string[] = [];
  const raw: Record<string, unknown> = {};
  const fileKeys = new Set<string>();

  const filePath = given(env.GATEWAY_CONFIG);
  if (filePath !== undefined) {
    const file = readConfigFile(filePath);
    if ('problem' in file) problems.push(`GATEWAY_CONFIG: ${file.problem}`);
    else {
      for (const [key, value] of Object.entries(file.values)) {
        if (given(value) === undefined) continue;
        if (isSettingName(key) && settingMeta(key).envOnly) {
          problems.push(`${key}: may be set only in the environment, not in ${filePath}`);
          continue;
        }
        raw[key] = value;
        fileKeys.add(key);
      }
    }
  }

  for (const [key, value] of Object.entries(env)) {
    if (!ownPrefixes.test(key) && !isSettingName(key)) continue;
    if (given(value) === undefined) continue;
    raw[key] = value;
    fileKeys.delete(key);
  }

  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) problems.push(...describeIssues(parsed.error.issues, fileKeys, filePath));
  if (problems.length > 0 || !parsed.success) return { ok: false, problems };
  return { ok: true, config: deepFreeze(parsed.data) };
}

/** `undefined` for absent, null or blank values; otherwise the value. */
function given<T>(value: T): T | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' && value.trim() === '' ? undefined : value;
}
