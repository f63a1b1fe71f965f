import { isIP } from 'node:net';
import { logLevels, type LogLevel } from './log-levels.ts';
import { isPublicSuffix } from './is-public-suffix.ts';

/** A value as it arrives: always a string from the environment; the file may also give these. */
export type RawValue = string | number | boolean | readonly unknown[];

/** A parsed value, or a problem; `got` replaces the raw value quoted after the problem. */
export type Parsed<T> = { value: T } | { problem: string; got?: string };

/** Or several problems of one structured value (a list of rules), each a line of its own. */
export type ParsedList<T> = Parsed<T> | { problems: string[] };

/** Minimum length of any secret: 32 characters, about 190 bits when random base64url. */
export const minSecretLength = 32;

/** One non-empty value, trimmed; numbers and booleans from the file are taken as text. */
export function parseText(raw: RawValue): Parsed<string> {
  if (Array.isArray(raw)) return { problem: 'must be a single value, not a list' };
  const text = String(raw).trim();
  return text === '' ? { problem: 'must not be empty' } : { value: text };
}

/** A whole number within [min, max]; `problem` says so in the setting's own words. */
export function parseInteger(min: number, max: number, problem: string) {
  return (raw: RawValue): Parsed<number> => {
    const value =
      typeof raw === 'number' ? raw : typeof raw === 'string' && /^\s*\d+\s*$/.test(raw) ? Number(raw) : NaN;
    return Number.isSafeInteger(value) && value >= min && value <= max ? { value } : { problem };
  };
}

/** Seconds, 0 or more. */
export const parseSeconds = parseInteger(0, Number.MAX_SAFE_INTEGER, 'must be a whole number of seconds, 0 or more');

/** A lifetime in seconds: 0 would make every token or session dead on arrival. */
export const parseLifetime = parseInteger(1, Number.MAX_SAFE_INTEGER, 'must be a whole number of seconds, at least 1');

/**
 * A list: a string split on `separator` (commas unless said otherwise), or a list from the file.
 * Items are trimmed and empty ones dropped, so "a, b," is ["a", "b"].
 */
export function parseList(raw: RawValue, separator: RegExp = /,/): Parsed<string[]> {
  if (typeof raw === 'boolean') return { problem: 'must be a list' };
  const items = Array.isArray(raw) ? raw : String(raw).split(separator);
  if (!items.every((item) => typeof item === 'string' || typeof item === 'number')) {
    return { problem: 'must be a list of strings' };
  }
  return { value: items.map((item) => String(item).trim()).filter((item) => item !== '') };
}

/** A list whose every item passes `check`; the first failure is the problem. */
function parseListOf(check: (item: string) => string | undefined, separator?: RegExp) {
  return (raw: RawValue): Parsed<string[]> => {
    const list = parseList(raw, separator);
    if (!('value' in list)) return list;
    for (const item of list.value) {
      const problem = check(item);
      if (problem !== undefined) return { problem };
    }
    return list;
  };
}

/**
 * A value left from an example (`replace-with-…`, `change-me`): long enough to pass the length
 * rule, and known to everyone who read the example.
 */
export const isPlaceholderSecret = (value: string): boolean => /replace[-_ ]?with|change[-_ ]?me/i.test(value);

const PLACEHOLDER_PROBLEM = 'is the placeholder of an example: generate a secret (openssl rand -base64 48)';

/** Cookie secrets: each long enough to resist guessing; the value is never quoted. */
export function parseSecrets(raw: RawValue): Parsed<string[]> {
  const list = parseList(raw);
  if (!('value' in list)) return list;
  if (list.value.length === 0) return { problem: 'must list at least one secret' };
  if (list.value.some(isPlaceholderSecret)) return { problem: `a secret ${PLACEHOLDER_PROBLEM}` };
  const short = list.value.findIndex((secret) => secret.length < minSecretLength);
  if (short === -1) return list;
  const which = list.value.length === 1 ? 'the secret' : `secret ${short + 1} of ${list.value.length}`;
  return { problem: `each secret must be at least ${minSecretLength} characters (${which} is shorter)` };
}

/** A single secret token of at least 32 characters. */
export function parseLongSecret(raw: RawValue): Parsed<string> {
  const text = parseText(raw);
  if ('value' in text && isPlaceholderSecret(text.value)) return { problem: PLACEHOLDER_PROBLEM };
  if (!('value' in text) || text.value.length >= minSecretLength) return text;
  return { problem: `must be at least ${minSecretLength} characters` };
}

/** Upstream scopes, space- or comma-separated; `openid` is needed for the ID token (OIDC Core 3.1.2.1). */
export function parseScopes(raw: RawValue): Parsed<string[]> {
  const list = parseList(raw, /[\s,]+/);
  if ('value' in list && !list.value.includes('openid')) return { problem: 'must include openid' };
  return list;
}

/** A switch: `on`/`off` (also `true`/`false`, `1`/`0`, `yes`/`no`), case-insensitive. */
export function parseSwitch(raw: RawValue): Parsed<boolean> {
  if (typeof raw === 'boolean') return { value: raw };
  const text = String(raw).trim().toLowerCase();
  if (['on', 'true', '1', 'yes'].includes(text)) return { value: true };
  if (['off', 'false', '0', 'no'].includes(text)) return { value: false };
  return { problem: 'must be on or off' };
}

/** One of pino's levels, case-insensitive. */
export function parseLogLevel(raw: RawValue): Parsed<LogLevel> {
  const text = parseText(raw);
  if (!('value' in text)) return text;
  const level = logLevels.find((name) => name === text.value.toLowerCase());
  return level === undefined ? { problem: `must be one of ${logLevels.join(', ')}` } : { value: level };
}

const label = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const domainPatterns = {
  plain: new RegExp(`^(?:${label}\\.)*${label}$`),
  cookie: new RegExp(`^\\.?(?:${label}\\.)*${label}$`),
  redirect: new RegExp(`^\\.?(?:${label}\\.)*${label}(?::\\d{1,5})?$`),
};

/**
 * Lower-cased domain names (DNS names are case-insensitive, RFC 4343). `plain` is a bare name,
 * `cookie` may start with a dot, `redirect` may also end in `:port`. Cookie and redirect domains
 * must not be public suffixes (is-public-suffix.ts): `.com` would share the cookie with, and
 * allow redirects to, every site under it.
 */
export function parseDomains(kind: keyof typeof domainPatterns) {
  const check = parseListOf((item) => {
    if (!domainPatterns[kind].test(item.toLowerCase())) return `${JSON.stringify(item)} is not a domain name`;
    if (kind !== 'plain' && isPublicSuffix(item)) {
      return `${JSON.stringify(item)} is a public suffix (anyone can register a domain under it); name your own domain, e.g. .example.com`;
    }
    return undefined;
  });
  return (raw: RawValue): Parsed<string[]> => {
    const list = check(raw);
    return 'value' in list ? { value: list.value.map((item) => item.toLowerCase()) } : list;
  };
}

/** An IP address or a CIDR range, IPv4 or IPv6 (`10.0.0.0/8`, `fd00::/8`, `192.0.2.7`). */
export function isAddressRange(text: string): boolean {
  const [address = '', prefix, ...rest] = text.split('/');
  const family = isIP(address);
  const bits = family === 4 ? 32 : 128;
  const prefixOk = prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= bits);
  return family !== 0 && prefixOk && rest.length === 0;
}

/** IP addresses or CIDR ranges (GATEWAY_TRUSTED_PROXIES). */
export const parseAddressRanges = parseListOf((item) =>
  isAddressRange(item) ? undefined : `${JSON.stringify(item)} is not an IP address or CIDR range`,
);

/** Scopes the gateway itself defines (OpenID Connect's and its own): an API scope is none of them. */
const OWN_SCOPES = new Set([
  'openid',
  'offline_access',
  'email',
  'profile',
  'groups',
  'upstream_token',
  'gateway:admin',
]);

/**
 * API scopes (GATEWAY_API_SCOPES): scope tokens as RFC 6749 §3.3 spells them (no space, `"` or
 * `\\`), none of the gateway's own, comma- or space-separated.
 */
export const parseApiScopes = parseListOf((scope) => {
  if (!/^[\x21\x23-\x5b\x5d-\x7e]{1,64}$/.test(scope))
    return `each scope must be 1 to 64 visible ASCII characters without " or \\ (RFC 6749 §3.3), not ${JSON.stringify(scope.slice(0, 70))}`;
  if (OWN_SCOPES.has(scope)) return `${scope} is a scope of the gateway itself: list only your APIs' scopes`;
  return undefined;
}, /[,\s]+/);

/** A secret given by someone else (an upstream's client secret): any text, but no placeholder. */
export function parseGivenSecret(raw: RawValue): Parsed<string> {
  const text = parseText(raw);
  if ('value' in text && isPlaceholderSecret(text.value)) return { problem: PLACEHOLDER_PROBLEM };
  return text;
}
