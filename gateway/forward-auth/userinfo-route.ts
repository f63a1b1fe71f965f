/**
 * `GET /oauth2/userinfo` (oauth2-proxy's): the signed-in user of a forward-auth cookie or Bearer
 * token, as JSON; 401 if none, or if the token is a machine's. Not the provider's OpenID Connect
 * userinfo (provider/userinfo-route.ts).
 */
import type { FastifyInstance } from 'fastify';
import { isMachineToken } from '../keys/access-token-verifier.ts';
import { type IdentityResolver, unauthorized } from './forward-auth-identity.ts';

export function userinfoRoute(app: FastifyInstance, deps: { identities: IdentityResolver }): void {
  const { identities } = deps;
  app.get('/oauth2/userinfo', async (request, reply) => {
    const claims = await identities.identify(request, reply);
    // A machine's token (client credentials) names a client, not a signed-in user.
    if (!claims || isMachineToken(claims)) return unauthorized(reply);
    return reply.header('cache-control', 'no-store').send({
      user: claims.sub,
      email: claims['email'],
      preferredUsername: claims['preferred_username'],
      groups: claims['groups'] ?? [],
    });
  });
}
