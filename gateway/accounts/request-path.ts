/**
 * The path of a protected request as the access rules compare it, read from the URI the proxy
 * received (X-Original-URI). An app behind the proxy may decode percent-escapes, resolve `..` and
 * `.`, merge slashes, take `\` for `/` or ignore case before it routes, so the rules look at the
 * path every such reading would reach: all escapes decoded (also double ones), backslashes as
 * slashes, `;` segment parameters dropped, slashes merged, lower-cased. A dot segment (`.`, `..`,
 * in any spelling) has no one reading: apps route `/reports/../home` either under `/reports` or
 * to `/home`, so such a path is unreadable, and refused where rules read the path (browsers never
 * send one: they resolve dot segments themselves). A path-prefix rule then catches
 * every spelling of its path, and a stricter rule for a longer path always wins.
 *
 * `canonical` says whether the URI was already in that form but for case (no escape, no dot
 * segment, no doubled slash, no backslash): only such a request may be let through by a rule that
 * needs no sign-in (`allow: public`), so that no spelling reaches a stricter path under a looser
 * rule. Whatever cannot be read (not starting with `/`, a broken escape, a NUL) is refused where
 * rules read the path: no rule can say where it would land.
 */

export interface RequestPath {
  /** Normalised and lower-cased: what the rules' prefixes are compared with. */
  path: string;
  /** The URI was in normal form already (case aside). */
  canonical: boolean;
  /** False when the path cannot be read (no leading `/`, a broken escape, a NUL): no rule can place it. */
  readable: boolean;
}

/** Decodes percent-escapes until none is left (at most 3 rounds); undefined when one is broken. */
function decodeAll(text: string): string | undefined {
  let current = text;
  for (let round = 0; round < 3 && current.includes('%'); round += 1) {
    try {
      current = decodeURIComponent(current);
    } catch {
      return undefined;
    }
  }
  return current.includes('%') ? undefined : current;
}

/**
 * Drops empty segments (merged slashes) and each segment's `;` parameters (Java servers route
 * `/admin;x=1` to `/admin`); undefined when a segment is `.` or `..`: apps disagree on those (most
 * route `/reports/../home` under `/reports`, some resolve it to `/home`), so no reading is safe.
 */
function segmentsOf(path: string): string | undefined {
  const out: string[] = [];
  for (const full of path.split('/')) {
    const segment = full.split(';')[0] ?? '';
    if (segment === '.' || segment === '..') return undefined;
    if (segment !== '') out.push(segment);
  }
  return `/${out.join('/')}`;
}

/** The path of `uri` (a request target: path and query) as rules compare it. */
export function requestPath(uri: string | undefined): RequestPath {
  // A request target is visible ASCII: anything else (a space, a comma-space where a proxy joined
  // two headers into one, a control character) is no URI a browser sent.
  if (uri === undefined || !/^[\x21-\x7e]*$/.test(uri)) return { path: '/', canonical: false, readable: false };
  const end = uri.search(/[?#]/);
  const raw = end === -1 ? uri : uri.slice(0, end);
  const decoded = decodeAll(raw);
  if (!raw.startsWith('/') || decoded === undefined || decoded.includes('\0'))
    return { path: '/', canonical: false, readable: false };
  // A fragment is never part of a request target: whatever follows `#` is read by nobody the
  // same way, so such a request is not in normal form (no public rule lets it through).
  const fragment = uri.includes('#');
  const resolved = segmentsOf(decoded.replaceAll('\\', '/'));
  if (resolved === undefined) return { path: '/', canonical: false, readable: false };
  // A trailing slash is kept: `/static/` and `/static` are the same prefix to a rule.
  const normal = raw.endsWith('/') && resolved !== '/' ? `${resolved}/` : resolved;
  return { path: normal.toLowerCase(), canonical: normal === raw && !fragment, readable: true };
}

/**
 * Whether `path` (normalised) is `prefix` or below it, at a segment boundary (`/flower` is not
 * `/flowerpot`). With `formats`, also `prefix` with a format suffix (`/reports.json`,
 * `/reports.html/x`): Rails (`(.:format)`) and Spring's suffix pattern match route those to the
 * `/reports` handler. Only rules that restrict ask for it: a rule that opens a path never opens
 * more than it names.
 */
export function underPrefix(path: string, prefix: string, formats = false): boolean {
  if (prefix === '/') return true;
  const base = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  return path === base || path.startsWith(`${base}/`) || (formats && path.startsWith(`${base}.`));
}
