/**
 * `upstream_token`: the scope by which a user agrees that an app may receive their upstream
 * (Google) access token through token exchange (upstream-token-exchange.ts). That token carries
 * everything the user granted the gateway at Google, far more than `openid`, so the user says yes
 * to it on the consent page by name (RFC 6749 §3.3: the scope is what the resource owner
 * granted), first-party apps included (load-existing-grant.ts never grants it silently).
 *
 * Only an app that may exchange tokens can ask for it: a confidential client an operator gave the
 * token-exchange grant. Any other app asking is refused with `invalid_scope` before the user
 * signs in, so no consent page ever offers what the app could not use.
 */
import { errors, interactionPolicy, type KoaContextWithOIDC } from 'oidc-provider';
import { TOKEN_EXCHANGE_GRANT } from '../web/grant-types.ts';

export const UPSTREAM_TOKEN_SCOPE = 'upstream_token';

interface ClientLike {
  clientAuthMethod?: string;
  grantTypeAllowed(grantType: string): boolean;
}

/** True for a client that may receive the user's upstream tokens, once the user consents. */
export function mayReceiveUpstreamTokens(client: ClientLike): boolean {
  return client.clientAuthMethod !== 'none' && client.grantTypeAllowed(TOKEN_EXCHANGE_GRANT);
}

/** True when the grant holds the user's consent to hand the client their upstream tokens. */
export function grantAllowsUpstreamTokens(grant: { getOIDCScope(): string }): boolean {
  return grant.getOIDCScope().split(' ').includes(UPSTREAM_TOKEN_SCOPE);
}

/**
 * An interaction-policy check, evaluated with the first prompt (before sign-in): refuses the scope
 * for a client that may not receive upstream tokens. oidc-provider sends the error to the
 * client's redirect URI (RFC 6749 §4.1.2.1 `invalid_scope`).
 */
export function upstreamTokenScopeCheck() {
  const { Check } = interactionPolicy;
  return new Check(
    'upstream_token_not_allowed',
    'the client may not receive upstream tokens',
    (ctx: KoaContextWithOIDC) => {
      const { client, requestParamScopes } = ctx.oidc;
      if (client && requestParamScopes.has(UPSTREAM_TOKEN_SCOPE) && !mayReceiveUpstreamTokens(client)) {
        throw new errors.InvalidScope(
          `${UPSTREAM_TOKEN_SCOPE} may be requested only by a client an operator allowed token exchange`,
          UPSTREAM_TOKEN_SCOPE,
        );
      }
      return Check.NO_NEED_TO_PROMPT;
    },
  );
}
