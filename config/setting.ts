import { z } from 'zod';
import type { ParsedList, RawValue } from './value-parsers.ts';

/** What the settings reference and the problem lines need to know about one setting. */
export interface SettingMeta {
  /** What it does, in Markdown, for docs/SETTINGS.md. */
  description: string;
  /** Value used when the setting is not given, written as in the environment. */
  default?: string;
  /** How the reference describes the default when it is not a plain value. */
  defaultText?: string;
  /** Its value never appears in a problem line or a summary. */
  secret?: boolean;
  /** Read only from the environment; refused in the config file. */
  envOnly?: boolean;
}

/** Metadata of every setting, keyed by its schema; the reference is rendered from it. */
export const settingsRegistry = z.registry<SettingMeta>();

/** Turns a raw value (env string or file value) into a setting's value, or says what is wrong. */
export type Parser<T> = (raw: RawValue) => ParsedList<T>;

/** A setting with a default: the default goes through the same parser as a given value. */
export function setting<T>(meta: SettingMeta & { default: string }, parse: Parser<T>) {
  return parsing(meta, parse).prefault(meta.default).register(settingsRegistry, meta);
}

/** A setting that is `undefined` when not given. */
export function optionalSetting<T>(meta: SettingMeta, parse: Parser<T>) {
  return parsing(meta, parse).optional().register(settingsRegistry, meta);
}

/*
 * Every setting accepts `unknown` and reports through its own parser, rather than zod's built-in
 * string/number types, so that each problem reads as one plain sentence in the operator's terms
 * ("must be an integer between 1 and 65535") and a secret's value is never quoted back.
 */
function parsing<T>(meta: SettingMeta, parse: Parser<T>) {
  return z.unknown().transform((input, ctx): T => {
    const result = isRawValue(input) ? parse(input) : { problem: 'must be a string, a number, a boolean or a list' };
    if ('value' in result) return result.value;
    if ('problems' in result) {
      for (const message of result.problems) ctx.issues.push({ code: 'custom', message, input: undefined });
      return z.NEVER;
    }
    const got = meta.secret ? '' : ` (got ${result.got ?? show(input)})`;
    ctx.issues.push({ code: 'custom', message: result.problem + got, input: undefined });
    return z.NEVER;
  });
}

function isRawValue(input: unknown): input is RawValue {
  return ['string', 'number', 'boolean'].includes(typeof input) || Array.isArray(input);
}

function show(input: unknown): string {
  const text = JSON.stringify(input) ?? String(input);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
