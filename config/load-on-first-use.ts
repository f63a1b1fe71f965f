/**
 * Modules only some configurations need, loaded by the first that does rather than by every
 * process at start: measured in RSS on their own, tldts (the Public Suffix List, for settings that
 * name cookie or redirect domains) 7.7 MB and yaml (for YAML settings, rules and clients files)
 * 2.9 MB. A gateway whose settings name no domain and read no YAML never loads them.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

let tldts: typeof import('tldts') | undefined;
let yaml: typeof import('yaml') | undefined;

export function loadTldts(): typeof import('tldts') {
  tldts ??= require('tldts') as typeof import('tldts');
  return tldts;
}

export function loadYaml(): typeof import('yaml') {
  yaml ??= require('yaml') as typeof import('yaml');
  return yaml;
}
