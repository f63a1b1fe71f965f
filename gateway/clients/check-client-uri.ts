/**
 * The rule every URI a client registers must follow (redirect URIs, post-logout redirect URIs,
 * the back-channel logout URI, a JWKS URI), whichever door it came through:
 *
 * - exact: no `*` wildcard anywhere, since the gateway compares redirect URIs by simple string
 *   comparison (RFC 6749 §3.1.2.2, RFC 9700 §4.1.3 "exact string matching");
 * - no control character (C0, DEL, C1), no invisible formatting character (right-to-left
 *   override U+202E, zero-width space U+200B, …) and no whitespace anywhere: RFC 3986 §2 allows
 *   none, and the URL parser would silently drop or trim some, so the URI stored would not be the
 *   URI compared, logged or shown (a newline in a log line, a tab or a reversed run hiding the
 *   real host);
 * - no backslash: browsers read it as `/` in an http(s) URL, so `https://evil.example\@app/cb`
 *   shows one host and goes to another;
 * - no fragment (RFC 6749 §3.1.2: "The endpoint URI MUST NOT include a fragment component");
 * - no user credentials in the authority;
 * - `https`, except plain `http` on a loopback host (`127.0.0.1`, `[::1]`, `localhost`) for native
 *   apps (RFC 8252 §7.3) and apps under development. Any other host over http would carry codes
 *   and tokens in the clear (RFC 6749 §3.1.2.1, RFC 9700 §2.6).
 *
 * The URIs the gateway itself calls (a JWKS URI, the back-channel logout URI, a sector identifier
 * URI) must also not name a loopback, private, link-local or unspecified host, unless the
 * operator listed its `host:port` in GATEWAY_OUTBOUND_PRIVATE_HOSTS (`checkFetchedClientUri`):
 * otherwise whoever registers a client could make the gateway call into its own network.
 *
 * Descriptions name the field and the value and say what to change, so a developer can fix the
 * registration from the error alone. A description that starts with `redirect_uris` makes
 * oidc-provider answer `invalid_redirect_uri` (RFC 7591 §3.2.2); any other, `invalid_client_metadata`.
 */
import { errors } from 'oidc-provider';
import { outboundHostOf } from '../../config/outbound-host.ts';
import { privateHostKind } from './private-host-kind.ts';

/** Hosts on which plain http is allowed (RFC 8252 §7.3; `localhost` for development). */
export const LOOPBACK_HOSTS: ReadonlySet<string> = new Set(['127.0.0.1', '[::1]', 'localhost']);

/** Control characters (C0, DEL, C1), formatting characters (Unicode Cf) and whitespace of any kind. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
export const CONTROL_OR_SPACE = /[\s\u0000-\u001f\u007f-\u009f\p{Cf}]/u;

/** `U+000A` for a newline: how a description names an invisible character. */
function codePoint(character: string): string {
  return `U+${(character.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * The value as quoted in an error: long input is cut and invisible characters are escaped, so a
 * description stays one readable line.
 */
function quote(value: string): string {
  // A user name and password in the URI are a credential: the message (and the log line that
  // carries it) says there was one, never what it was.
  const shown = value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#]*@/i, '$1***@');
  const cut = shown.length > 200 ? `${shown.slice(0, 200)}…` : shown;
  return JSON.stringify(cut).replace(/[\s\u007f-\u009f\p{Cf}]/gu, (character) =>
    character === ' ' ? ' ' : `\\u${codePoint(character).slice(2)}`,
  );
}

function failer(field: string): (what: string) => never {
  return (what) => {
    throw new errors.InvalidClientMetadata(`${field}: ${what}`);
  };
}

/** Throws `InvalidClientMetadata` when a URI holds a control character or whitespace. */
export function checkNoControlCharacters(field: string, uri: string): void {
  const found = CONTROL_OR_SPACE.exec(uri)?.[0];
  if (found === undefined) return;
  failer(field)(
    `${quote(uri)} contains a control character or whitespace (${codePoint(found)}); remove it (percent-encode a space the URI needs, as %20)`,
  );
}

/**
 * Throws `InvalidClientMetadata` when a URI holds a user name or password. Checked before any
 * other rule quotes the URI: the URL parser finds them in every spelling (`https:user:pw@…`,
 * backslashes, leading spaces), and the message names the URI without them.
 */
export function checkNoCredentials(field: string, uri: string): void {
  const withCredentials = URL.parse(uri);
  if (!withCredentials || (!withCredentials.username && !withCredentials.password)) return;
  withCredentials.username = '';
  withCredentials.password = '';
  failer(field)(`${quote(withCredentials.href)} must not contain a user name or password`);
}

/** Throws `InvalidClientMetadata` (with a fix-it description) unless `value` follows the rule. */
export function checkClientUri(field: string, value: unknown): void {
  const fail: (what: string) => never = failer(field);
  if (typeof value !== 'string' || value === '') fail('every URI must be a non-empty string');
  const uri: string = value;
  checkNoCredentials(field, uri);
  checkNoControlCharacters(field, uri);
  if (uri.includes('*')) fail(`${quote(uri)} contains a wildcard "*"; register every exact URI instead`);
  if (uri.includes('\\'))
    fail(`${quote(uri)} contains a backslash, which browsers read as "/"; register the URI as it will be used`);
  const parsed = URL.parse(uri) ?? fail(`${quote(uri)} is not an absolute URI (e.g. https://app.example.com/callback)`);
  if (uri.includes('#')) fail(`${quote(uri)} has a fragment (#…); register the URI without it`);
  if (parsed.username || parsed.password) fail(`${quote(uri)} must not contain a user name or password`);
  if (parsed.protocol === 'https:') return;
  if (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(parsed.hostname)) return;
  fail(
    `${quote(uri)} must use https (plain http is allowed only on 127.0.0.1, [::1] or localhost, for native apps and development)`,
  );
}

/**
 * A URI the gateway will call: the rule above, and a loopback, private, link-local or unspecified
 * host only when its `host:port` is in `privateHosts` (GATEWAY_OUTBOUND_PRIVATE_HOSTS).
 */
export function checkFetchedClientUri(field: string, value: unknown, privateHosts: readonly string[]): void {
  checkClientUri(field, value);
  const url = new URL(value as string);
  const kind = privateHostKind(url.hostname);
  const target = outboundHostOf(url);
  if (kind === undefined || privateHosts.includes(target)) return;
  failer(field)(
    `${quote(value as string)} points at a ${kind} address (${url.hostname}), which the gateway does not call (SSRF protection); ` +
      `use a public https URI, or ask the gateway's operator to add ${target} to GATEWAY_OUTBOUND_PRIVATE_HOSTS`,
  );
}

/** Checks an optional list of URIs: absent is fine, anything else must be an array of good URIs. */
export function checkClientUriList(field: string, value: unknown, options: { required?: boolean } = {}): void {
  if (value === undefined && !options.required) return;
  if (!Array.isArray(value) || (options.required && value.length === 0)) {
    throw new errors.InvalidClientMetadata(
      `${field}: must be ${options.required ? 'a non-empty' : 'an'} array of absolute URIs`,
    );
  }
  for (const uri of value) checkClientUri(field, uri);
}
