/**
 * The OpenID Provider's routes, defined once: oidc-provider is configured with them
 * (create-provider.ts), and the gateway's rules in front of it (limits, the refresh grace, body
 * limits, metrics) name them from here.
 *
 * oidc-provider's router matches a path case-insensitively and with one trailing slash
 * tolerated, so `/Token` and `/token/` reach the token endpoint too. A rule keyed on `/token`
 * would miss them; instead, every request's path is brought to its canonical form before routing
 * ({@link canonicalProviderUrl}, Fastify's `rewriteUrl`), so the gateway's rules and the provider
 * see the same path, and a rule matches exactly the requests the provider serves on its route.
 */

/** oidc-provider's `routes` (its defaults, stated so that the gateway's rules can name them). */
export const PROVIDER_ROUTES = {
  authorization: '/auth',
  backchannel_authentication: '/backchannel',
  challenge: '/challenge',
  code_verification: '/device',
  credential: '/credential',
  device_authorization: '/device/auth',
  end_session: '/session/end',
  introspection: '/token/introspection',
  jwks: '/jwks',
  pushed_authorization_request: '/request',
  registration: '/reg',
  revocation: '/token/revocation',
  token: '/token',
  userinfo: '/me',
} as const;

/** Paths oidc-provider serves beside its `routes`. */
export const END_SESSION_CONFIRM_PATH = `${PROVIDER_ROUTES.end_session}/confirm`;
const STATIC_PATHS = [
  ...Object.values(PROVIDER_ROUTES),
  END_SESSION_CONFIRM_PATH,
  `${PROVIDER_ROUTES.end_session}/success`,
  '/.well-known/openid-configuration',
  '/.well-known/oauth-authorization-server',
];
/** Routes with one id segment after them (`/auth/:uid`, `/reg/:clientId`, `/device/:uid`). */
const WITH_ID = [PROVIDER_ROUTES.authorization, PROVIDER_ROUTES.registration, PROVIDER_ROUTES.code_verification];

/**
 * oidc-provider's own case folding (lib/helpers/router.js): upper case, except that a non-ASCII
 * character whose upper case is ASCII (`ſ` → `S`) stays as it is.
 */
function fold(value: string): string {
  let out = '';
  for (const char of value) {
    const upper = char.toUpperCase();
    out +=
      upper.length === 1 && !((char.codePointAt(0) ?? 0) > 127 && (upper.codePointAt(0) ?? 0) < 128) ? upper : char;
  }
  return out;
}

const canonicalStatic = new Map(STATIC_PATHS.map((path) => [fold(path), path]));
const canonicalWithId = new Map(WITH_ID.map((path) => [fold(path), path]));

/** The canonical form of a provider path (`/Token/` → `/token`), or undefined for any other path. */
export function canonicalProviderPath(path: string): string | undefined {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  const folded = fold(trimmed);
  const found = canonicalStatic.get(folded);
  if (found !== undefined) return found;
  const slash = trimmed.lastIndexOf('/');
  if (slash <= 0 || slash === trimmed.length - 1) return undefined;
  const base = canonicalWithId.get(folded.slice(0, slash));
  return base === undefined ? undefined : `${base}${trimmed.slice(slash)}`;
}

/**
 * An absolute-form request target (`POST http://host/TOKEN`, RFC 9112 §3.2.2, which Node accepts)
 * as the origin-form path every rule in front of oidc-provider reads, so that no spelling reaches
 * oidc-provider's router past them. The Host header still names the host, as for any request.
 */
function originForm(target: string): string {
  if (target.startsWith('/')) return target;
  const parsed = URL.parse(target);
  if (!parsed || (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')) return target;
  return `${parsed.pathname}${parsed.search}`;
}

/**
 * Fastify's `rewriteUrl`: a request for a provider route in another spelling gets its canonical
 * path (query kept); everything else, the forward-auth check first of all, passes untouched.
 */
export function canonicalProviderUrl(target: string): string {
  const url = originForm(target);
  if (url.startsWith('/oauth2/')) return url;
  const mark = url.indexOf('?');
  const path = mark === -1 ? url : url.slice(0, mark);
  const canonical = canonicalProviderPath(path);
  if (canonical === undefined || canonical === path) return url;
  return mark === -1 ? canonical : `${canonical}${url.slice(mark)}`;
}

const labelled = new Set(STATIC_PATHS);
/** The name of the id segment of each route that has one, as the labels show it. */
const ID_NAMES = new Map<string, string>([
  [PROVIDER_ROUTES.authorization, ':uid'],
  [PROVIDER_ROUTES.registration, ':clientId'],
  [PROVIDER_ROUTES.code_verification, ':uid'],
]);

/**
 * The label of a request to the provider's catch-all route in metrics and the access log: its
 * endpoint, with an id folded into a pattern (`/auth/:uid`, never the id itself), or `/*`.
 * Requests arrive in canonical spelling (`canonicalProviderUrl`).
 */
export function providerRouteLabel(url: string): string {
  const query = url.indexOf('?');
  const path = query < 0 ? url : url.slice(0, query);
  if (labelled.has(path)) return path;
  const slash = path.lastIndexOf('/');
  const id = slash > 0 ? ID_NAMES.get(path.slice(0, slash)) : undefined;
  return id === undefined ? '/*' : `${path.slice(0, slash)}/${id}`;
}
