/**
 * The rule every URI a client registers must follow (redirect URIs, post-logout redirect URIs,
 * the back-channel logout URI, a JWKS URI), whichever door it came through:
 *
 * - exact: no `*` wildcard anywhere, since the gateway compares redirect URIs by simple string
 *   comparison (RFC 6749 §3.1.2.2, RFC 9700 §4.1.3 "exact string matching");
 * - no fragment (RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component");
 * - no user credentials in the authority;
 * - `https`, except plain `http` on a loopback host (`127.0.0.1`, `[::1]`, `localhost`) for native
 *   apps (RFC 8252 §7.3) and apps under development. Any other host over http would carry codes
 *   and tokens in the clear (RFC 6749 §3.1.2.1, RFC 9700 §2.6).
 *
 * Descriptions name the field and the value and say what to change, so a developer can fix the
 * registration from the error alone. A description that starts with `redirect_uris` makes
 * oidc-provider answer `invalid_redirect_uri` (RFC 7591 §3.2.2); any other, `invalid_client_metadata`.
 */
import { errors } from 'oidc-provider';

/** Hosts on which plain http is allowed (RFC 8252 §7.3; `localhost` for development). */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** The value as quoted in an error: long input is cut, so a description stays one readable line. */
function quote(value: string): string {
  return JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}…` : value);
}

/** Throws `InvalidClientMetadata` (with a fix-it description) unless `value` follows the rule. */
export function checkClientUri(field: string, value: unknown): void {
  const fail: (what: string) => never = (what) => {
    throw new errors.InvalidClientMetadata(`${field}: ${what}`);
  };
  if (typeof value !== 'string' || value === '') fail('every URI must be a non-empty string');
  const uri: string = value;
  if (uri.includes('*')) fail(`${quote(uri)} contains a wildcard "*"; register every exact URI instead`);
  const parsed = URL.parse(uri) ?? fail(`${quote(uri)} is not an absolute URI (e.g. https://app.example.com/callback)`);
  if (uri.includes('#')) fail(`${quote(uri)} has a fragment (#…); register the URI without it`);
  if (parsed.username || parsed.password) fail(`${quote(uri)} must not contain a user name or password`);
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)) return;
  fail(`${quote(uri)} must use https (plain http is allowed only on 127.0.0.1, [::1] or localhost, for native apps and development)`);
}

/** Checks an optional list of URIs: absent is fine, anything else must be an array of good URIs. */
export function checkClientUriList(field: string, value: unknown, options: { required?: boolean } = {}): void {
  if (value === undefined && !options.required) return;
  if (!Array.isArray(value) || (options.required && value.length === 0)) {
    throw new errors.InvalidClientMetadata(`${field}: must be ${options.required ? 'a non-empty' : 'an'} array of absolute URIs`);
  }
  for (const uri of value) checkClientUri(field, uri);
}
