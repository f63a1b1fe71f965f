/**
 * `GET /oauth2/userinfo` (oauth2-proxy's): the signed-in user of a forward-auth cookie or Bearer
 * token, as JSON; 401 if none. Not the provider's OpenID Connect userinfo (provider/userinfo-route.ts).
 */
import type { FastifyInstance } from 'fastify';
import { type IdentityResolver, unauthorized } from './forward-auth-identity.ts';

export function userinfoRoute(app: FastifyInstance, deps: { identities: IdentityResolver }): void {
  const { identities } = deps;
  app.get('/oauth2/userinfo', async (request, reply) => {
    const claims = await identities.identify(request, reply);
    if (!claims) return unauthorized(reply);
    return reply.header('cache-control', 'no-store').send({
      user: claims.sub,
      email: claims['email'],
      preferredUsername: claims['preferred_username'],
      groups: claims['groups'] ?? [],
    });
  });
}
