/**
 * Introspection (RFC 7662) and revocation (RFC 7009) of the gateway's access tokens. They are
 * JWTs (RFC 9068) that oidc-provider neither stores nor accepts at those endpoints (it answers
 * `unsupported_token_type`), yet resource servers introspect them (API gateways such as Kong or
 * Envoy, django-oauth-toolkit) and apps revoke them. This middleware, in front of both endpoints,
 * answers for them:
 *
 * - Client authentication stays oidc-provider's (every method, previous secrets, its errors): the
 *   request goes on to the provider with the JWT swapped for a value that is no token, so the
 *   provider authenticates the caller and answers as for an unknown token (`active: false`, or an
 *   empty 200). Only after that succeeded is the answer for the JWT written.
 * - A JWT counts only if it verifies (the gateway's keys, `iss`, `typ: at+jwt`, `exp`) and its
 *   grant (`grant_id`, access-token-claims.ts) still lives, for the same client and user: the
 *   Grant record in the shared store, which every ending removes (revocation, logout, refresh-token
 *   reuse, sign-out: end-grant.ts), so every instance answers alike at once.
 * - Introspection: `active: true` with the RFC 7662 §2.2 members (the token's own claims, and
 *   `token_type` Bearer) for a caller token-policies.ts allows; anything else `active: false`.
 * - Revocation: ends the token's grant (RFC 7009 §2.1 lets a server revoke other tokens of the same
 *   grant; a JWT cannot be revoked alone, since it verifies offline until it expires, so its grant
 *   is what ends). An invalid or already ended token gets 200, as §2.2 says.
 * - A machine's token (client credentials) has no grant: active while it verifies and its client
 *   still has the grant; its revocation is `unsupported_token_type` (§2.2.1), told to that client only.
 */
import { decodeProtectedHeader } from 'jose';
import type Provider from 'oidc-provider';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import { endGrant } from '../../adapters/end-grant.ts';
import { createOidcAdapter } from '../../adapters/oidc-adapter.ts';
import type { Sealing } from '../../adapters/sealing.ts';
import type { Store } from '../../adapters/store.ts';
import { type AccessTokenClaims, type AccessTokenVerifier, isMachineToken } from '../keys/access-token-verifier.ts';
import { formParamsOrAnswer, replaceFormBody, type FormContext } from './form-body.ts';
import { PROVIDER_ROUTES } from './provider-routes.ts';
import { createLiveAccessTokens } from './live-access-token.ts';
import { introspectionAllowed, revocationAllowed } from './token-policies.ts';

/** What oidc-provider is given instead of the JWT: not a token (no stored token has this id). */
const NOT_A_TOKEN = 'gateway-access-jwt';

interface Ctx extends FormContext {
  method: string;
  path: string;
  is(type: string): string | false | null;
  oidc?: KoaContextWithOIDC['oidc'];
}

export interface AccessJwtEndpointsDeps {
  provider: Provider;
  store: Store;
  sealing: Sealing;
  verify: AccessTokenVerifier;
}

function isJwt(token: string): boolean {
  try {
    decodeProtectedHeader(token);
    return true;
  } catch {
    return false;
  }
}

export function accessJwtEndpoints(deps: AccessJwtEndpointsDeps) {
  const { provider } = deps;
  const routes = new Map<string, 'introspection' | 'revocation'>([
    [PROVIDER_ROUTES.introspection, 'introspection'],
    [PROVIDER_ROUTES.revocation, 'revocation'],
  ]);
  const adapterFor = createOidcAdapter(deps.store, deps.sealing);

  const liveToken = createLiveAccessTokens({
    verify: deps.verify,
    findGrant: (grantId) => provider.Grant.find(grantId),
  });

  /**
   * A machine's token (client credentials) has no grant: it stands while it verifies, names its
   * own client as `sub`, and that client still exists with the grant (removing the client ends
   * its tokens here at once, though apps verifying offline accept them until they expire).
   */
  async function liveMachineToken(
    token: string,
  ): Promise<{ claims: AccessTokenClaims; grantId: undefined } | undefined> {
    const claims = await deps.verify(token).catch(() => undefined);
    if (!claims || !isMachineToken(claims) || claims.sub !== claims.client_id || !claims.client_id) return undefined;
    const owner = await provider.Client.find(String(claims.client_id)).catch(() => undefined);
    return owner?.grantTypeAllowed('client_credentials') ? { claims, grantId: undefined } : undefined;
  }

  return async function accessJwtEndpoint(ctx: Ctx, next: () => Promise<void>): Promise<void> {
    const route = ctx.method === 'POST' ? routes.get(ctx.path) : undefined;
    if (!route) return next();
    const params = await formParamsOrAnswer(ctx);
    if (params === null) return undefined;
    const [token, ...repeated] = params?.getAll('token') ?? [];
    // Anything but one JWT (repeats included, which the provider refuses) is the provider's.
    if (!params || token === undefined || repeated.length > 0 || !isJwt(token)) return next();
    const swapped = new URLSearchParams(params);
    swapped.set('token', NOT_A_TOKEN);
    replaceFormBody(ctx, swapped);
    await next();

    const client = ctx.oidc?.client;
    if (ctx.status !== 200 || !client) return undefined; // not authenticated, or refused otherwise
    const live = (await liveToken(token)) ?? (await liveMachineToken(token));
    if (!live) return undefined; // `active: false`, or the empty 200 of a revocation
    const { claims, grantId } = live;
    const held = { clientId: claims.client_id, kind: 'AccessToken', aud: claims.aud };
    if (route === 'introspection') {
      if (!introspectionAllowed(client, held)) return undefined;
      const username =
        typeof claims['preferred_username'] === 'string' ? { username: claims['preferred_username'] } : {};
      ctx.body = { ...claims, ...username, active: true, token_type: 'Bearer' };
      return undefined;
    }

    if (grantId === undefined) {
      // A machine's token has no grant to end; said only to the machine itself (RFC 7009 §2.2.1).
      if (client.clientId !== claims.client_id) return undefined;
      ctx.status = 400;
      ctx.body = {
        error: 'unsupported_token_type',
        error_description:
          "a machine's token (client credentials) cannot be revoked: it expires on its own; remove the client or rotate its secret to stop new ones",
      };
      return undefined;
    }

    try {
      revocationAllowed(client, held);
    } catch (error) {
      if (!(error instanceof errors.OIDCProviderError)) throw error;
      ctx.status = error.statusCode;
      ctx.body = { error: error.error, error_description: error.error_description };
      return undefined;
    }
    await endGrant(adapterFor, grantId);
    (provider.emit as (event: string, ...args: unknown[]) => boolean)('grant.revoked', ctx, grantId);
    return undefined;
  };
}
