/**
 * UserInfo (OIDC Core §5.3) for the gateway's JWT access tokens.
 *
 * oidc-provider's own userinfo endpoint refuses access tokens issued for a resource server, and
 * every access token the gateway issues is one (RFC 9068 JWTs, see resource-servers.ts). So the
 * gateway answers `/me` itself: the JWT is verified offline, and the claims released are those of
 * the scopes the token carries, by the same table oidc-provider uses (scope-claims.ts).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { Store } from '../../adapters/store.ts';
import { accountClaims } from '../accounts/account.ts';
import { findAccountBySub } from '../accounts/account-store.ts';
import { bearerToken } from '../web/bearer-token.ts';
import type { LiveAccessTokens } from './live-access-token.ts';
import { claimsForScope } from './scope-claims.ts';
import { releasedGroups } from '../accounts/account-groups.ts';
import { signedInThrough } from '../upstream/signed-in-through.ts';

/** RFC 6750 §3.1: a request with no credentials at all is told only how to authenticate. */
function unauthenticated(reply: FastifyReply) {
  return reply
    .code(401)
    .header('www-authenticate', 'Bearer realm="gateway"')
    .header('cache-control', 'no-store')
    .send({ error: 'invalid_token', error_description: 'no bearer access token was sent' });
}

/** RFC 6750 §3: the challenge that tells the client what went wrong. */
function challenge(
  reply: FastifyReply,
  status: 400 | 401,
  error: 'invalid_request' | 'invalid_token',
  description: string,
) {
  return reply
    .code(status)
    .header('www-authenticate', `Bearer realm="gateway", error="${error}", error_description="${description}"`)
    .header('cache-control', 'no-store')
    .send({ error, error_description: description });
}

/**
 * `liveToken` says whether the JWT still stands (its grant lives): userinfo answers about the
 * user now, so a token whose grant ended (revocation, logout, sign-out) gets 401 at once.
 */
export function userinfoRoutes(
  path: string,
  deps: {
    store: Store;
    liveToken: LiveAccessTokens;
    /** GATEWAY_GROUPS (account-groups.ts). */
    staticGroups: Readonly<Record<string, readonly string[]>>;
  },
) {
  return async function routes(app: FastifyInstance) {
    const handler = async (
      request: { headers: Record<string, string | string[] | undefined> },
      reply: FastifyReply,
    ) => {
      const header = request.headers.authorization;
      if (header === undefined) return unauthenticated(reply);
      const token = bearerToken(typeof header === 'string' ? header : undefined);
      if (!token)
        return challenge(reply, 400, 'invalid_request', 'the Authorization header is not `Bearer <access token>`');
      const live = await deps.liveToken(token);
      if (!live)
        return challenge(
          reply,
          401,
          'invalid_token',
          'the access token is invalid, has expired, or its grant has ended',
        );
      const { claims } = live;
      const account = await findAccountBySub(deps.store, claims.sub);
      if (!account) return challenge(reply, 401, 'invalid_token', 'the account behind this token no longer exists');
      return reply.header('cache-control', 'no-store').send({
        ...claimsForScope(
          claims.scope ?? 'openid',
          accountClaims(account, releasedGroups(account, deps.staticGroups, signedInThrough(claims['amr']))),
        ),
        sub: account.sub,
      });
    };
    app.get(path, handler);
    app.post(path, handler);
  };
}
