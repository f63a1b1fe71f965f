/**
 * Delegation between apps (RFC 8693 token exchange): app A, holding a user's access token, gets a
 * token for API B to call it on the user's behalf. The same grant type and endpoint as the
 * upstream-token exchange (token-exchange.ts chooses by `audience`), under one policy:
 *
 * - A is a confidential client an operator allowed to exchange tokens for B: B is in A's
 *   `token_exchange_audiences` (`npx gateway clients allow-exchange A B`, or the clients file),
 *   which dynamic registration can never set (check-client-policy.ts). Anything else is
 *   `invalid_target`.
 * - The subject token is a user's access token meant for A: issued to A, or (a chain) minted by
 *   an earlier exchange for A. Its grant must live: the Grant record named by its `grant_id`.
 * - The new token is down-scoped: the scopes of the subject token, narrowed to those A asks for
 *   (`scope`) and to B's registered scopes (its `scope` metadata; the user scopes when it has
 *   none); none left is `invalid_scope`. It lives no longer than GATEWAY_ACCESS_TOKEN_TTL nor
 *   than the subject token. `aud` is B, `client_id` is A, and `act` names A (RFC 8693 §4.1),
 *   nesting the subject token's own `act` in a chain, so B sees who acts for whom.
 * - It carries the subject token's `grant_id` and `session_uid`: revoking the user's grant, or
 *   signing them out, ends it wherever it is checked (introspection, forward auth), as it ends
 *   the subject token. Apps verifying offline accept it until it expires, which is soon.
 *
 * Every exchange is an audit event (`token.exchanged`, with `audience`).
 */
import { randomUUID } from 'node:crypto';
import { importJWK, SignJWT } from 'jose';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { AccessTokenClaims } from '../keys/access-token-verifier.ts';
import type { PrivateJwk } from '../keys/signing-keys.ts';

/** The scopes an API with no registered scopes may receive: the user scopes of an access token. */
const USER_SCOPES = ['openid', 'email', 'profile', 'groups'];

/** Claims of the subject token that say who the user is, kept as the scopes allow. */
const IDENTITY_CLAIMS: Record<string, readonly string[]> = {
  email: ['email', 'email_verified'],
  profile: ['preferred_username', 'name'],
  groups: ['groups'],
};

export interface DelegationDeps {
  issuer: string;
  /** The key that signs access tokens now (it changes with a rotation). */
  accessTokenKey: () => PrivateJwk;
  accessTokenTtl: number;
  audit: (fields: Record<string, unknown>) => void;
}

interface ExchangeClient {
  clientId: string;
  metadata(): Record<string, unknown>;
}

/** The audiences `client` may exchange user tokens for (its `token_exchange_audiences`). */
export function delegationAudiences(client: ExchangeClient): string[] {
  const listed = client.metadata()['token_exchange_audiences'];
  return Array.isArray(listed) ? listed.filter((id): id is string => typeof id === 'string') : [];
}

/** Apps a user's token may pass through, one exchange each (a bound on `act`'s nesting). */
const MAX_ACTORS = 5;

/** How many actors an `act` claim names (nested `act`s). */
function actDepth(act: unknown): number {
  let depth = 0;
  for (let at = act; typeof at === 'object' && at !== null; at = (at as { act?: unknown }).act) depth += 1;
  return depth;
}

/** The first app of a chain of `act`s (RFC 8693 §4.1: each nests the actor before it). */
function innermostActor(act: unknown): string | undefined {
  let at = act as { sub?: unknown; act?: unknown } | undefined;
  while (typeof at?.act === 'object' && at.act !== null) at = at.act as { sub?: unknown; act?: unknown };
  return typeof at?.sub === 'string' ? at.sub : undefined;
}

const audiencesOf = (claims: AccessTokenClaims) =>
  typeof claims.aud === 'string' ? [claims.aud] : Array.isArray(claims.aud) ? claims.aud : [];

export function delegationExchange(deps: DelegationDeps) {
  return async function delegate(
    ctx: KoaContextWithOIDC,
    request: { client: ExchangeClient; subject: AccessTokenClaims; audience: string; scope: string | undefined },
  ): Promise<void> {
    const { client, subject, audience } = request;
    // Meant for A: a user's token issued to it, or one an earlier exchange made for it (aud A).
    // Not A's own delegated token (made for another API): exchanging it again would only stack
    // A on itself in `act`.
    const forA =
      subject['act'] === undefined
        ? subject.client_id === client.clientId
        : audiencesOf(subject).includes(client.clientId);
    if (!forA) throw new errors.InvalidGrant('subject_token was not issued to this client');
    if (actDepth(subject['act']) >= MAX_ACTORS)
      throw new errors.InvalidGrant(`subject_token has passed through ${MAX_ACTORS} apps already`);
    const grantId = subject.grant_id;
    const grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    // The grant is the first app's, the one the user signed in to: the innermost actor of a chain.
    const signedInTo = subject['act'] === undefined ? subject.client_id : innermostActor(subject['act']);
    if (!grant || grant.accountId !== subject.sub || grant.clientId !== signedInTo) {
      throw new errors.InvalidGrant('the grant of subject_token has ended (revoked, signed out or expired)');
    }
    const api = await ctx.oidc.provider.Client.find(audience);
    if (!api) throw new errors.InvalidTarget(`${audience} is no registered client`);

    const held = String(subject['scope'] ?? '')
      .split(' ')
      .filter(Boolean);
    const registered = typeof api.scope === 'string' && api.scope !== '' ? api.scope.split(' ') : USER_SCOPES;
    const asked = request.scope === undefined ? undefined : request.scope.split(' ').filter(Boolean);
    const scopes = held.filter((scope) => registered.includes(scope) && (asked === undefined || asked.includes(scope)));
    if (scopes.length === 0)
      throw new errors.InvalidScope(`none of the subject token's scopes may be passed to ${audience}`, 'scope');

    const now = Math.floor(Date.now() / 1000);
    const exp = Math.min(now + deps.accessTokenTtl, subject.exp ?? now);
    if (exp <= now) throw new errors.InvalidGrant('subject_token has expired');
    const payload: Record<string, unknown> = {
      client_id: client.clientId,
      scope: scopes.join(' '),
      act: subject['act'] === undefined ? { sub: client.clientId } : { sub: client.clientId, act: subject['act'] },
    };
    for (const name of ['amr', 'grant_id', 'session_uid'] as const)
      if (subject[name] !== undefined) payload[name] = subject[name];
    for (const scope of scopes)
      for (const name of IDENTITY_CLAIMS[scope] ?? []) if (subject[name] !== undefined) payload[name] = subject[name];

    const jwk = deps.accessTokenKey();
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: jwk.alg, kid: jwk.kid, typ: 'at+jwt' })
      .setIssuer(deps.issuer)
      .setSubject(subject.sub)
      .setAudience(audience)
      .setIssuedAt(now)
      .setExpirationTime(exp)
      .setJti(randomUUID())
      .sign(await importJWK(jwk, jwk.alg));
    deps.audit({ client_id: client.clientId, sub: subject.sub, audience, scope: payload['scope'] });
    ctx.body = {
      access_token: token,
      issued_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      token_type: 'Bearer',
      expires_in: exp - now,
      scope: payload['scope'],
    };
  };
}
