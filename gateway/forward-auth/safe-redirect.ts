/**
 * Where a browser may be sent back after sign-in or sign-out (`rd`): a relative path on the same
 * host, or an absolute http(s) URL whose host is the request's own or within the allowed
 * redirect domains. Anything else becomes `/`.
 *
 * Decided on the fully percent-decoded form (attacks hide `//`, `\` and control characters behind
 * one or two layers of encoding: `/%2f%2fevil`, `/%5cevil`, `/%09/evil`), then on what the WHATWG
 * URL parser (the browser's own) makes of it. When in doubt (a URL that does not parse, a
 * backslash, userinfo, a non-http scheme) it fails closed.
 */
import { hostMatches, parseDomainPattern } from '../web/domain-match.ts';

const FALLBACK = '/';

/** Decodes percent-encoding until stable (at most 4 rounds); undefined when malformed. */
function fullyDecode(value: string): string | undefined {
  let current = value;
  for (let round = 0; round < 4; round += 1) {
    let next: string;
    try {
      next = decodeURIComponent(current);
    } catch {
      return undefined;
    }
    if (next === current) return current;
    current = next;
  }
  return /%[0-9a-f]{2}/i.test(current) ? undefined : current;
}

// Control characters and backslashes: browsers read "\\" as "/" and drop tabs and newlines
// inside URLs, so "/\\evil" and "/\t/evil" both become "//evil".
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
const CONTROL_OR_BACKSLASH = /[\u0000-\u001f\u007f\\]/;

export interface RedirectContext {
  /** The request's own origin, e.g. `https://app.example.com`. */
  origin: string;
  /** Allowed redirect domains (`.example.com`, `example.com:8443`). */
  allowedDomains: readonly string[];
}

/** The redirect target to use for `rd`: `rd` normalised when it is safe, else `/`. */
export function safeRedirect(rd: string | undefined, context: RedirectContext): string {
  if (rd === undefined || rd.length === 0 || rd.length > 2048) return FALLBACK;
  if (CONTROL_OR_BACKSLASH.test(rd)) return FALLBACK;
  const decoded = fullyDecode(rd);
  if (decoded === undefined || CONTROL_OR_BACKSLASH.test(decoded)) return FALLBACK;

  if (rd.startsWith('/')) {
    // A relative path: never "//host" (scheme-relative), in any encoding.
    if (decoded.startsWith('//') || rd.startsWith('//')) return FALLBACK;
    let resolved: URL;
    try {
      resolved = new URL(rd, context.origin);
    } catch {
      return FALLBACK;
    }
    if (resolved.origin !== new URL(context.origin).origin) return FALLBACK;
    // Dot segments can collapse into a scheme-relative path: "/%2e%2e//evil.com" is "//evil.com".
    const path = `${resolved.pathname}${resolved.search}${resolved.hash}`;
    return path.startsWith('//') ? FALLBACK : path;
  }

  let url: URL;
  try {
    url = new URL(rd);
  } catch {
    return FALLBACK;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return FALLBACK;
  // The raw text must itself start with the scheme and "//" (no "https:evil.com" shapes).
  if (!/^https?:\/\/[^/?#]/i.test(rd)) return FALLBACK;
  const authority = decoded.replace(/^https?:\/\//i, '').split(/[/?#]/)[0] ?? '';
  if (url.username !== '' || url.password !== '' || authority.includes('@')) return FALLBACK;
  // The origin comes from the request's Host (or a trusted proxy's X-Forwarded-Host): it may not parse.
  const own = URL.parse(context.origin);
  if (own !== null && url.origin === own.origin) return url.href;
  // Never from https down to http; and a domain named without a port covers its default port
  // only (`.example.com:8443` names another), as forward auth's callbacks and oauth2-proxy's
  // whitelist domains do.
  if (own !== null && own.protocol === 'https:' && url.protocol !== 'https:') return FALLBACK;
  const allowed = context.allowedDomains.some((domain) => {
    const pattern = parseDomainPattern(domain);
    if (pattern.port === undefined && url.port !== '') return false;
    return hostMatches(pattern, url.hostname, url.port);
  });
  return allowed ? url.href : FALLBACK;
}
