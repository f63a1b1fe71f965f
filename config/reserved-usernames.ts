/**
 * `GATEWAY_RESERVED_USERNAMES`: names that suggest authority or a role (`admin`, `root`,
 * `security`) and that apps, and the people who read their screens, may trust for it. The
 * gateway hands out `preferred_username` first come, first served (gateway/accounts/), so without
 * this list the first `admin@gmail.com` to sign in would become `admin` in every app.
 */
import type { Parsed, RawValue } from './value-parsers.ts';
import { parseList } from './value-parsers.ts';

/**
 * Administrative and role names, and the role mailboxes of RFC 2142 §§4-5 (`abuse`,
 * `postmaster`, `hostmaster`, `webmaster`, `noc`, `security`, `support`), which many sites treat
 * as official.
 */
export const DEFAULT_RESERVED_USERNAMES: readonly string[] = [
  'admin',
  'administrator',
  'root',
  'superuser',
  'sysadmin',
  'system',
  'operator',
  'moderator',
  'owner',
  'staff',
  'support',
  'security',
  'abuse',
  'postmaster',
  'hostmaster',
  'webmaster',
  'noc',
  'noreply',
  'no-reply',
  'gateway',
];

/** User names as the gateway forms them: lower-case letters, digits, `.`, `_` and `-`. */
export function parseUsernames(raw: RawValue): Parsed<string[]> {
  const list = parseList(raw);
  if (!('value' in list)) return list;
  const names = list.value.map((name) => name.toLowerCase());
  const bad = names.find((name) => !/^[a-z0-9._-]{1,30}$/.test(name));
  if (bad !== undefined)
    return { problem: `${JSON.stringify(bad)} is not a user name (up to 30 letters, digits, "." "_" "-")` };
  return { value: names };
}
