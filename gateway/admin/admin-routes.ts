/**
 * The admin API (`/admin/…`): the operations of `npx gateway users` and `sessions` as JSON over
 * HTTP, for an operator's tooling. Callers are machine clients with `gateway:admin`
 * (admin-auth.ts); every change is an audit event naming that client. The OpenAPI document at
 * `/admin/openapi.json` is generated from these routes' schemas (openapi.ts).
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import type { Config } from '../../config/config-type.ts';
import { findAccountBySub, listAccounts } from '../accounts/account-store.ts';
import { accountView, findUsers, sessionsOf } from '../accounts/user-directory.ts';
import type { AccessTokenVerifier } from '../keys/access-token-verifier.ts';
import { ADMIN_SCOPE } from '../provider/admin-scope.ts';
import { setDisabled } from '../sessions/disable-account.ts';
import type { SignOut } from '../sessions/sign-out.ts';
import { audit } from '../web/audit.ts';
import { sendProblem } from '../web/errors.ts';
import { adminAuth, adminCaller } from './admin-auth.ts';
import { openApiCollector } from './openapi.ts';

export interface AdminDeps {
  config: Config;
  store: Store;
  sealing: Sealing;
  verify: AccessTokenVerifier;
  signOut: SignOut;
  /** The client now, by id (the admin check confirms its caller still exists). */
  findClient: (clientId: string) => Promise<{ scope?: string | undefined } | undefined>;
}

const account = {
  type: 'object',
  properties: {
    sub: { type: 'string' },
    preferred_username: { type: 'string' },
    email: { type: 'string' },
    email_verified: { type: 'boolean' },
    name: { type: 'string' },
    upstream: { type: 'string', description: 'the id of the upstream the account signs in through' },
    upstream_sub: { type: 'string' },
    groups: { type: 'array', items: { type: 'string' } },
    created_at: { type: 'string', format: 'date-time' },
    last_sign_in_or_check: { type: 'string', format: 'date-time' },
    disabled_at: { type: 'string', format: 'date-time' },
  },
  required: ['sub', 'preferred_username', 'upstream', 'upstream_sub', 'groups'],
} as const;

const session = {
  type: 'object',
  properties: {
    uid: { type: 'string', description: "the session's id (session_uid in its tokens)" },
    signed_in_at: { type: 'string', format: 'date-time' },
    apps: { type: 'array', items: { type: 'string' }, description: 'client ids signed in through it' },
  },
  required: ['uid', 'apps'],
} as const;

const ended = {
  type: 'object',
  properties: {
    sessions: { type: 'integer' },
    grants: { type: 'integer' },
    forwardAuthSessions: { type: 'integer' },
    backchannelLogouts: { type: 'integer' },
  },
} as const;

const subParams = {
  type: 'object',
  properties: { sub: { type: 'string', minLength: 1, maxLength: 255 } },
  required: ['sub'],
} as const;

const problem = {
  type: 'object',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
  },
} as const;

export const adminRoutes: FastifyPluginAsync<AdminDeps> = async (app: FastifyInstance, deps) => {
  const openapi = openApiCollector({ title: 'Gateway admin API', version: '1', prefix: '/admin/', scope: ADMIN_SCOPE });
  app.addHook('onRoute', (route) => openapi.onRoute(route));
  const requireAdmin = adminAuth({ issuer: deps.config.issuer, verify: deps.verify, findClient: deps.findClient });
  const notFound = (reply: Parameters<typeof sendProblem>[0], sub: string) =>
    sendProblem(reply, 404, 'not_found', `no account with sub ${JSON.stringify(sub)}`);

  app.get(
    '/admin/users',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Find accounts by e-mail, user name, sub or UPSTREAM_ID:UPSTREAM_SUB (an index each, no scan)',
        querystring: {
          type: 'object',
          properties: { q: { type: 'string', minLength: 1, maxLength: 320 } },
          required: ['q'],
        },
        response: {
          200: {
            description: 'the accounts found',
            type: 'object',
            properties: { users: { type: 'array', items: account } },
          },
        },
      },
    },
    async (request) => {
      const { q } = request.query as { q: string };
      const found = await findUsers(deps.store, q, deps.config.upstreams);
      return { users: found.map((a) => accountView(a, deps.config.groups)) };
    },
  );

  app.get(
    '/admin/accounts',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'Every account, a page at a time (an index of buckets, no scan); `next` asks for the next page',
        querystring: {
          type: 'object',
          properties: {
            limit: { type: 'integer', minimum: 1, maximum: 1000, default: 50 },
            after: { type: 'string', maxLength: 100 },
            upstream: { type: 'string', maxLength: 64 },
          },
        },
        response: {
          200: {
            description: 'one page',
            type: 'object',
            properties: { users: { type: 'array', items: account }, next: { type: 'string' } },
          },
          400: { description: 'a cursor that is none', ...problem },
        },
      },
    },
    async (request, reply) => {
      const { limit, after, upstream } = request.query as { limit: number; after?: string; upstream?: string };
      if (upstream !== undefined && !deps.config.upstreams.some((u) => u.id === upstream))
        return sendProblem(reply, 400, 'invalid_request', 'upstream names no configured upstream');
      try {
        const page = await listAccounts(deps.store, {
          limit,
          after,
          ...(upstream === undefined ? {} : { keep: (a: { upstream: { id?: string } }) => a.upstream.id === upstream }),
        });
        return { users: page.accounts.map((a) => accountView(a, deps.config.groups)), next: page.next };
      } catch (error) {
        if (error instanceof RangeError)
          return sendProblem(reply, 400, 'invalid_request', 'after is not a cursor of this list');
        throw error;
      }
    },
  );

  app.get(
    '/admin/users/:sub',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'One account, with its sessions and their apps',
        params: subParams,
        response: {
          200: {
            description: 'the account',
            type: 'object',
            properties: { ...account.properties, sessions: { type: 'array', items: session } },
          },
          404: { description: 'no such account', ...problem },
        },
      },
    },
    async (request, reply) => {
      const { sub } = request.params as { sub: string };
      const found = await findAccountBySub(deps.store, sub);
      if (!found) return notFound(reply, sub);
      return {
        ...accountView(found, deps.config.groups),
        sessions: await sessionsOf(deps.store, deps.sealing, sub),
      };
    },
  );

  for (const disable of [true, false]) {
    app.post(
      `/admin/users/:sub/${disable ? 'disable' : 'enable'}`,
      {
        preHandler: requireAdmin,
        schema: {
          summary: disable
            ? 'Disable an account: refused at sign-in, every session and grant ended now on every instance'
            : 'Enable a disabled account',
          params: subParams,
          response: {
            200: {
              description: 'done',
              type: 'object',
              properties: { sub: { type: 'string' }, disabled: { type: 'boolean' }, ...ended.properties },
            },
            404: { description: 'no such account', ...problem },
          },
        },
      },
      async (request, reply) => {
        const { sub } = request.params as { sub: string };
        const done = await setDisabled({ store: deps.store, signOut: deps.signOut, log: request.log }, sub, disable, {
          via: 'admin_api',
          client_id: adminCaller(request),
        });
        return done ?? notFound(reply, sub);
      },
    );
  }

  app.get(
    '/admin/users/:sub/sessions',
    {
      preHandler: requireAdmin,
      schema: {
        summary: "One account's sessions",
        params: subParams,
        response: {
          200: {
            description: 'the sessions',
            type: 'object',
            properties: { sessions: { type: 'array', items: session } },
          },
          404: { description: 'no such account', ...problem },
        },
      },
    },
    async (request, reply) => {
      const { sub } = request.params as { sub: string };
      if (!(await findAccountBySub(deps.store, sub))) return notFound(reply, sub);
      return { sessions: await sessionsOf(deps.store, deps.sealing, sub) };
    },
  );

  app.delete(
    '/admin/sessions/:uid',
    {
      preHandler: requireAdmin,
      schema: {
        summary: 'End one session on every instance (as its user signing out)',
        params: {
          type: 'object',
          properties: { uid: { type: 'string', minLength: 1, maxLength: 128 } },
          required: ['uid'],
        },
        response: {
          200: {
            description: 'what ended',
            type: 'object',
            properties: { sub: { type: 'string' }, ...ended.properties },
          },
          404: { description: 'no such session', ...problem },
        },
      },
    },
    async (request, reply) => {
      const { uid } = request.params as { uid: string };
      const result = await deps.signOut.endSession(uid);
      if (result.sub === undefined && result.sessions + result.grants + result.forwardAuthSessions === 0)
        return sendProblem(reply, 404, 'not_found', 'no live session with this id');
      audit(
        request.log,
        'session.ended',
        { ...result, session_uid: uid, actor: { via: 'admin_api', client_id: adminCaller(request) } },
        'an operator ended one session',
      );
      return result;
    },
  );

  app.get('/admin/openapi.json', async (_request, reply) =>
    reply.header('cache-control', 'no-store').send(openapi.document()),
  );
};
