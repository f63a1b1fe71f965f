/**
 * Mounts oidc-provider (a Koa app) inside Fastify, the way that was measured to work: a catch-all
 * route in its own encapsulated scope with a pass-through body parser, so the provider reads the
 * raw body itself (Fastify's parsers would answer 415 on form posts or eat JSON bodies), while
 * the gateway's own routes, more specific, win over the wildcard.
 *
 * oidc-provider builds every absolute URL it emits (discovery, redirects, the logout form's
 * action) from the request's host and scheme. The gateway has exactly one public address, its
 * issuer, so the provider is told that host and scheme on every request, whatever the client or
 * a proxy sent: discovery can never list endpoints at an attacker's `Host`, and cookies are
 * `Secure` whenever the issuer is https; and it learns the client's address from Fastify, which
 * believes `X-Forwarded-For` only from a trusted proxy.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FastifyInstance } from 'fastify';
import { PROVIDER_BODY_LIMIT_BYTES } from './form-body.ts';
import { oauthEndpoint } from './oauth-endpoint.ts';
import { providerRouteLabel } from './provider-routes.ts';

export type NodeHandler = (req: IncomingMessage, res: ServerResponse) => void;

export interface MountOptions {
  /** The gateway's issuer: its host and scheme are the only ones the provider ever sees. */
  issuer: string;
  /** Extra routes that must also see the raw body (registered inside the same scope). */
  routes?: (scope: FastifyInstance) => Promise<void> | void;
}

/**
 * Marks the gateway's own in-process requests (forward auth calling the provider through
 * `inject`): a random value per process, so no client can forge it.
 */
export const IN_PROCESS_HEADER = 'x-gateway-in-process';
export const IN_PROCESS_TOKEN = randomBytes(24).toString('base64url');

const IN_PROCESS = Symbol('gateway in-process request');

/** True for the gateway's own in-process calls to its provider (never limited, never counted). */
export function isInProcess(req: IncomingMessage): boolean {
  return (req as IncomingMessage & { [IN_PROCESS]?: boolean })[IN_PROCESS] === true;
}

/**
 * Pins the request to the issuer's host and scheme (see the header), and tells the provider the
 * client's address as Fastify worked it out from the trusted proxies (`request.ip`), as the only
 * `X-Forwarded-For`: Koa's own reading would take the left-most entry, which the client writes.
 */
export function issuerHeaders(issuer: string): (req: IncomingMessage, clientIp: string) => void {
  const { host, protocol } = new URL(issuer);
  const scheme = protocol.slice(0, -1);
  return (req, clientIp) => {
    if (req.headers[IN_PROCESS_HEADER] === IN_PROCESS_TOKEN)
      (req as IncomingMessage & { [IN_PROCESS]?: boolean })[IN_PROCESS] = true;
    delete req.headers[IN_PROCESS_HEADER];
    for (const name of Object.keys(req.headers)) {
      if (name === 'forwarded' || name.startsWith('x-forwarded-')) delete req.headers[name];
    }
    req.headers.host = host;
    req.headers['x-forwarded-proto'] = scheme;
    req.headers['x-forwarded-for'] = clientIp;
  };
}

/** Registers `handler` for every path not served by a more specific route. */
export async function mountProvider(app: FastifyInstance, handler: NodeHandler, options: MountOptions): Promise<void> {
  const filter = issuerHeaders(options.issuer);
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    // oidc-provider reads its own bodies (up to its limit): an oversized one is refused first,
    // as OAuth error JSON on the OAuth endpoints.
    const ownBody = {
      limit: PROVIDER_BODY_LIMIT_BYTES,
      oauthErrors: (url: string) => oauthEndpoint(url) !== undefined,
    };
    scope.all('/*', { config: { ownBody, routeLabel: providerRouteLabel } }, (request, reply) => {
      reply.hijack();
      filter(request.raw, request.ip);
      handler(request.raw, reply.raw);
    });
    await options.routes?.(scope);
  });
}

/**
 * Mounts a Node handler under `prefix`, the way Express mounts a sub-app: the handler sees paths
 * relative to the prefix in `req.url`, and the full path in `req.originalUrl`.
 */
export async function mountUnderPrefix(app: FastifyInstance, prefix: string, handler: NodeHandler): Promise<void> {
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
    const forward = (request: { raw: IncomingMessage }, reply: { hijack(): void; raw: ServerResponse }) => {
      reply.hijack();
      handler(request.raw, reply.raw);
    };
    // The mounted handler reads its own bodies, with the provider's limit.
    const config = { ownBody: { limit: PROVIDER_BODY_LIMIT_BYTES } };
    scope.all(prefix, { config }, forward);
    scope.all(`${prefix}/*`, { config }, forward);
  });
}
