/**
 * `GET /oauth2/auth`, the check nginx `auth_request` (and Caddy/Traefik forward auth) makes on
 * every request to a protected app: 202 + `X-Auth-Request-*` when the cookie or a Bearer token is
 * valid, 401 when not signed in, 403 when signed in but not allowed for this host. Never redirects.
 * An expired cookie JWT is refreshed transparently (the new cookie comes with the 202; nginx
 * passes it on with `auth_request_set` + `add_header Set-Cookie`).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { GatewayError, sendProblem } from '../web/errors.ts';
import type { HostPolicy } from '../accounts/host-policy.ts';
import { createQueryPolicies } from './auth-query-policy.ts';
import type { ForwardAuthSite } from './forward-auth-site.ts';
import { type IdentityResolver, unauthorized } from './forward-auth-identity.ts';
import type { HostTokenMinter } from './host-token-minter.ts';
import { CHECK_PATH, type CheckReplay } from './check-replay.ts';
import { signedInThrough } from '../upstream/signed-in-through.ts';
import { isMachineToken } from '../keys/access-token-verifier.ts';

export interface CheckRouteDeps {
  site: ForwardAuthSite;
  identities: IdentityResolver;
  /** Is the request's host one forward auth serves (served-hosts.ts)? */
  isServedHost: (request: FastifyRequest) => boolean;
  policy: HostPolicy;
  mintHostToken: HostTokenMinter;
  /** Counts one answer of `/oauth2/auth`, under its route pattern (it has no metrics hook: it is a hot path). */
  recordCheck?: ((route: string, status: number, ms: number) => void) | undefined;
  /** Where the 202s are kept for repeats (check-replay.ts); none when replaying is off. */
  replay?: CheckReplay | undefined;
}

/** The query string of a raw URL, without `?`. */
function queryOf(url: string): string {
  const mark = url.indexOf('?');
  return mark === -1 ? '' : url.slice(mark + 1);
}

/** Tells a proxy's cache of checks (nginx `proxy_no_cache $upstream_http_x_gateway_no_cache`) not to keep this answer. */
const NO_PROXY_CACHE = 'x-gateway-no-cache';
const OPEN_HEADERS = { 'cache-control': 'no-store' };
const OPEN_VARYING = { 'cache-control': 'no-store', [NO_PROXY_CACHE]: '1' };

/** A host name as rules name hosts: ASCII letters, digits, dots and dashes (Fastify's hostname has no port). */
const PLAIN_HOST = /^[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.?$/i;

/**
 * What a header value may carry: visible ASCII and spaces. An address or group name beyond it (an
 * internationalised address, a group called 개발팀) cannot be a header value (HTTP fields are
 * Latin-1 at best, and Node refuses more): it is left out of the X-Auth-Request-* headers, and
 * stays in the signed access token, where apps read it in full.
 */
const HEADER_SAFE = /^[\x20-\x7e]*$/;

/**
 * The page's URI or method, when the proxy's two ways of saying it agree. A proxy that sets one
 * (Caddy: X-Forwarded-*) passes the client's own copy of the other on; a client must not choose
 * what is judged, so two different values refuse.
 */
const CONFLICT = '\u0000conflict';
const CONFLICT_PROBLEM =
  'X-Original-URI, X-Forwarded-Uri and X-Original-URL (or the -Method headers) disagree, or the URL names another host: set them from the proxy';
function agreed(...said: (string | undefined)[]): string | undefined {
  const given = said.filter((value) => value !== undefined);
  if (given.some((value) => value !== given[0])) return CONFLICT;
  return given[0];
}

/**
 * The path and query of X-Original-URL (ingress-nginx's `auth-url` sends the whole URL), as the
 * client wrote them (no URL parsing: it would resolve `..` and change what is judged); a URL for
 * another host than the one judged, or one that cannot be read, is a conflict.
 */
function originalUrlTarget(value: string | undefined, hostname: string): string | undefined {
  if (value === undefined) return undefined;
  const parts = /^https?:\/\/([^/?#@]+)(.*)$/i.exec(value);
  if (!parts) return CONFLICT;
  const host = (parts[1] ?? '').replace(/:\d+$/, '').toLowerCase();
  if (host !== hostname.toLowerCase()) return CONFLICT;
  const rest = parts[2] ?? '';
  return rest.startsWith('/') ? rest : `/${rest}`;
}

const forbidden = (reply: FastifyReply) =>
  sendProblem(reply, 403, 'forbidden', 'You are signed in, but not allowed here.');

export function checkRoute(app: FastifyInstance, deps: CheckRouteDeps): void {
  const { originOf, trustedHeader } = deps.site;
  // A rule set the proxy cannot be judged by (it sends no X-Original-URI): said once per problem.
  const warned = new Set<string>();
  const warnOnce = (problem: string) => {
    if (warned.has(problem)) return;
    warned.add(problem);
    app.log.warn({ problem }, 'forward auth refuses: send X-Original-URI and X-Original-Method from the proxy');
  };
  const { identities, isServedHost } = deps;
  // Told once per distinct query string (the parsed policy is cached): an nginx snippet with a typo.
  const queryPolicies = createQueryPolicies((problem) =>
    app.log.warn({ problem }, 'forward auth refuses every user at /oauth2/auth with this query'),
  );

  // nginx asks this on every request: no hook runs on it but the cookie parser, and it counts
  // its own answers (gateway/ops/http-metrics.ts).
  // (The path is named once here: `request.routeOptions` builds a new object on every read.)
  const checkPath = CHECK_PATH;
  app.get(checkPath, { config: { hotPath: true } }, async (request, reply) => {
    try {
      await check(request, reply);
    } catch (error) {
      deps.recordCheck?.(checkPath, error instanceof GatewayError ? error.status : 500, reply.elapsedTime);
      throw error;
    }
    deps.recordCheck?.(checkPath, reply.statusCode, reply.elapsedTime);
    return reply;
  });

  async function check(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (!isServedHost(request))
      return sendProblem(reply, 403, 'forbidden', 'Forward auth is not configured for this host.');
    const query = queryOf(request.url);
    // Rules match host names as configured: a Host in any other spelling (escapes, soft hyphens,
    // Unicode look-alikes, which URL parsing would fold into a served name) is judged by none.
    if (!PLAIN_HOST.test(request.hostname))
      return sendProblem(reply, 400, 'invalid_request', 'The Host header is not a plain host name.');
    const target = deps.policy.readsTarget
      ? {
          host: request.hostname,
          uri: agreed(
            trustedHeader(request, 'x-original-uri'),
            trustedHeader(request, 'x-forwarded-uri'),
            originalUrlTarget(trustedHeader(request, 'x-original-url'), request.hostname),
          ),
          method: agreed(trustedHeader(request, 'x-original-method'), trustedHeader(request, 'x-forwarded-method')),
          ip: request.ip,
        }
      : { host: request.hostname, ip: request.ip };
    const decision =
      target.uri === CONFLICT || target.method === CONFLICT
        ? ({ kind: 'refuse', problem: CONFLICT_PROBLEM } as const)
        : deps.policy.decide(target);
    if (decision.kind === 'refuse') {
      warnOnce(decision.problem);
      return forbidden(reply);
    }
    // When the answer depends on the page's path, method or the client's address, a proxy's cache
    // keyed on the host and the user must not keep it (the shipped nginx config reads this header).
    const varies = deps.policy.readsTarget && deps.policy.readsTargetAt(request.hostname);
    // A public path, or a trusted network: no sign-in, no identity (unless the location itself
    // restricts by query, which needs one).
    if (decision.kind === 'open' && query === '')
      return reply
        .code(202)
        .headers(varies ? OPEN_VARYING : OPEN_HEADERS)
        .send();
    const claims = await identities.identify(request, reply);
    if (!claims) return unauthorized(reply);
    // Typed at the door: a well-signed token with odd claims is refused or ignored, never a 500.
    const email = typeof claims['email'] === 'string' ? claims['email'] : undefined;
    const groups = Array.isArray(claims['groups'])
      ? (claims['groups'] as unknown[]).filter((g): g is string => typeof g === 'string')
      : [];
    // A machine (client credentials) is its client, never a user with an empty profile.
    const identity = isMachineToken(claims)
      ? { client: String(claims['client_id'] ?? claims.sub) }
      : { email, groups, upstream: signedInThrough(claims['amr']) };
    const restriction = queryPolicies(query);
    const ruled = decision.kind === 'open' || decision.allows(identity);
    if (!restriction.ok || !restriction.allows(identity) || !ruled) {
      // Why, for an operator at the debug level (as `npx gateway rules explain` says it).
      if (!ruled && (request.log.level === 'debug' || request.log.level === 'trace')) {
        const { rule } = deps.policy.explain(target);
        request.log.debug(
          { host: target.host, rule: rule ? rule.index + 1 : undefined },
          'forward auth: refused by a rule',
        );
      }
      return forbidden(reply);
    }
    // It carries a token: no cache may keep it (RFC 6749 §5.1 asks the same of token answers).
    const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-auth-request-user': claims.sub };
    if (varies) headers[NO_PROXY_CACHE] = '1';
    if (email && HEADER_SAFE.test(email)) headers['x-auth-request-email'] = email;
    const username = claims['preferred_username'];
    if (typeof username === 'string' && HEADER_SAFE.test(username))
      headers['x-auth-request-preferred-username'] = username;
    const headerGroups = groups.filter((group) => HEADER_SAFE.test(group));
    if (headerGroups.length > 0) headers['x-auth-request-groups'] = headerGroups.join(',');
    headers['x-auth-request-access-token'] = await deps.mintHostToken(claims, originOf(request));
    // A 202 that refreshed the cookie answered an expired token: its repeat must come here again.
    // (Not an answer a trusted network opened: the replay keys on no address.)
    if (deps.replay && decision.kind !== 'open' && !identities.refreshed(request) && claims.exp !== undefined)
      deps.replay.remember(request.raw, headers, claims.exp * 1000, claims['session_uid'] as string | undefined);
    return reply.code(202).headers(headers).send();
  }
}
