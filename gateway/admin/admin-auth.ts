/**
 * Who may call the admin API: a machine client, with an access token of the client credentials
 * grant (`gty`), made for the gateway itself (`aud` = the issuer), carrying `gateway:admin` (a
 * scope only an operator registers: provider/admin-scope.ts). Only the Authorization header is
 * read: a browser's cookies never reach an admin route, so a page that makes a signed-in
 * operator's browser call it gets nothing. RFC 6750 §3 answers: 401 `invalid_token` with a
 * `WWW-Authenticate` challenge, 403 `insufficient_scope`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { type AccessTokenClaims, type AccessTokenVerifier, isMachineToken } from '../keys/access-token-verifier.ts';
import { ADMIN_SCOPE } from '../provider/admin-scope.ts';
import { bearerToken } from '../web/bearer-token.ts';

const REALM = 'gateway-admin';

function challenge(reply: FastifyReply, status: 401 | 403, error: string, detail: string): FastifyReply {
  return reply
    .code(status)
    .header('www-authenticate', `Bearer realm="${REALM}", error="${error}", error_description="${detail}"`)
    .header('cache-control', 'no-store')
    .type('application/problem+json')
    .send({ type: `urn:gateway:error:${error}`, title: error, status, detail });
}

/** A preHandler: the caller's claims on `request`, or the answer that refuses it. */
export function adminAuth(deps: {
  issuer: string;
  verify: AccessTokenVerifier;
  /** The client now (removed: undefined), so a removed or narrowed client's tokens end at once. */
  findClient: (clientId: string) => Promise<{ scope?: string | undefined } | undefined>;
}) {
  return async function requireAdmin(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const header = request.headers.authorization;
    const token = bearerToken(typeof header === 'string' ? header : undefined);
    if (!token) {
      return reply
        .code(401)
        .header('www-authenticate', `Bearer realm="${REALM}", scope="${ADMIN_SCOPE}"`)
        .header('cache-control', 'no-store')
        .type('application/problem+json')
        .send({
          type: 'urn:gateway:error:unauthorized',
          title: 'unauthorized',
          status: 401,
          detail: `the admin API takes a machine client's access token with the ${ADMIN_SCOPE} scope (Authorization: Bearer)`,
        });
    }
    let claims: AccessTokenClaims;
    try {
      claims = await deps.verify(token);
    } catch {
      return challenge(reply, 401, 'invalid_token', 'the access token is invalid or has expired');
    }
    const audiences = typeof claims.aud === 'string' ? [claims.aud] : (claims.aud ?? []);
    if (!audiences.includes(deps.issuer))
      return challenge(
        reply,
        401,
        'invalid_token',
        'the access token is not for the gateway (its aud must be the issuer)',
      );
    if (!isMachineToken(claims))
      return challenge(
        reply,
        403,
        'insufficient_scope',
        "a user's token never reaches the admin API: use a machine client",
      );
    if (
      !String(claims['scope'] ?? '')
        .split(' ')
        .includes(ADMIN_SCOPE)
    )
      return challenge(reply, 403, 'insufficient_scope', `the access token lacks the ${ADMIN_SCOPE} scope`);
    const clientId = String(claims['client_id'] ?? claims.sub);
    // Still registered, still with the scope: removing the client (or the scope) ends its tokens
    // here at once, though they would verify until they expire.
    const client = await deps.findClient(clientId).catch(() => undefined);
    if (
      !client ||
      !String(client.scope ?? '')
        .split(' ')
        .includes(ADMIN_SCOPE)
    )
      return challenge(
        reply,
        401,
        'invalid_token',
        'the client of this token is gone or no longer has the admin scope',
      );
    (request as FastifyRequest & { adminCaller?: string }).adminCaller = clientId;
    return undefined;
  };
}

/** The machine client behind an admin request (set by {@link adminAuth}). */
export const adminCaller = (request: FastifyRequest) =>
  (request as FastifyRequest & { adminCaller?: string }).adminCaller ?? 'unknown';
