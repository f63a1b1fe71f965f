/**
 * Google tokens on demand: OAuth 2.0 Token Exchange (RFC 8693) of an app's gateway access token
 * for the user's current upstream (Google) access token, so the app can call Google APIs without
 * ever handling Google's refresh tokens.
 *
 * Who gets an answer, each condition checked here or before:
 * - a confidential client an operator allowed: its `grant_types` include the token-exchange
 *   grant, which only the CLI or the clients file can set and never on a public client
 *   (check-client-policy.ts); oidc-provider refuses other clients, this refuses a public one;
 * - with a subject token issued to that same client, whose grant still lives (the Grant record
 *   named by its `grant_id`: gone after revocation, logout, refresh-token reuse or sign-out):
 *   otherwise `invalid_grant` (RFC 6749 §5.2: the grant is revoked or was issued to another
 *   client);
 * - and only if the user consented, in that grant, to the client receiving upstream tokens (the
 *   `upstream_token` scope, upstream-token-scope.ts): otherwise `invalid_scope`, RFC 6749 §5.2's
 *   "exceeds the scope granted by the resource owner". The grant itself is fine, the user just
 *   never agreed to this; the app must ask for the scope at sign-in.
 *
 * With several upstreams, `audience` (or `resource`) names which one's token: `upstream:<id>`;
 * by default the one the subject token's sign-in went through. A client restricted to some
 * upstreams (`allowed_upstreams`) gets only theirs. An account linked to several has tokens at
 * each one it signed in through.
 *
 * With `audience` naming an app the operator let this client act towards (its
 * `token_exchange_audiences`), the same endpoint and checks answer with a gateway token for that
 * app instead: delegation-exchange.ts.
 *
 * The answer carries the upstream token as the upstream issued it: the scopes the user granted
 * the gateway there, which the consent page says. An expired upstream token is refreshed first,
 * under the per-user lock; a gone upstream grant answers `invalid_grant`. Every exchange is an
 * audit event (`token.exchanged`).
 */
import { delegationAudiences, type delegationExchange } from './delegation-exchange.ts';
import { errors, type KoaContextWithOIDC } from 'oidc-provider';
import type { AccessTokenClaims, AccessTokenVerifier } from '../keys/access-token-verifier.ts';
import { signedInThrough } from '../upstream/signed-in-through.ts';
import { UpstreamLinkGoneError } from '../upstream/upstream-tokens.ts';
import type { Upstream } from '../upstream/upstreams.ts';
import { grantAllowsUpstreamTokens, mayReceiveUpstreamTokens, UPSTREAM_TOKEN_SCOPE } from './upstream-token-scope.ts';

const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_EXCHANGE_PARAMETERS = [
  'subject_token',
  'subject_token_type',
  'requested_token_type',
  'audience',
  'resource',
  'scope',
];

/** Refresh a little before the upstream says, so the app gets a token that still works. */
const EXPIRY_MARGIN_MS = 60_000;

export interface TokenExchangeDeps {
  verify: AccessTokenVerifier;
  /** The upstream the user (by the gateway's `sub`) signed in with; undefined when it is no longer configured. */
  upstreamOf: (sub: string) => Promise<Upstream | undefined>;
  /** Every configured upstream (an account linked to several has tokens at each). */
  upstreams: readonly Upstream[];
  /** Writes the `token.exchanged` audit event (who, for whom, which upstream scopes; never a token). */
  audit: (fields: Record<string, unknown>) => void;
  /** Delegation to another app (RFC 8693 between apps), when `audience` names one the client may. */
  delegate?: ReturnType<typeof delegationExchange>;
}

/**
 * The upstream whose token the app asks for: named by `audience` or `resource` as `upstream:<id>`
 * or by its issuer, else the one the subject token's sign-in went through (its `amr`; for a token
 * without one, the account's latest). Only an upstream the client may use (`allowed_upstreams`)
 * and the user holds tokens at (checked after) answers: an app kept to GitLab never receives a
 * Microsoft token, whatever the account is linked to.
 */
async function chosenUpstream(
  deps: TokenExchangeDeps,
  subject: AccessTokenClaims,
  audience: string | undefined,
  allowed: readonly string[] | undefined,
): Promise<Upstream> {
  const mayUse = (upstream: Upstream) => allowed === undefined || allowed.includes(upstream.config.id);
  const recorded = signedInThrough(subject['amr']);
  const own = deps.upstreams.find((u) => u.config.id === recorded) ?? (await deps.upstreamOf(subject.sub));
  if (audience === undefined) {
    if (!own) throw new errors.InvalidGrant("the user's upstream is no longer configured");
    if (!mayUse(own)) throw new errors.InvalidTarget(`this client may not receive tokens of ${own.config.id}`);
    return own;
  }
  const named = (upstream: Upstream) =>
    audience === `upstream:${upstream.config.id}` || audience === upstream.config.issuer;
  const upstream = own && named(own) && mayUse(own) ? own : deps.upstreams.filter(mayUse).find(named);
  if (!upstream) {
    const names = deps.upstreams
      .filter(mayUse)
      .map((u) => `upstream:${u.config.id}`)
      .join(', ');
    throw new errors.InvalidTarget(
      `audience must name an identity provider this client may use (${names}), or an app an operator let it exchange tokens for`,
    );
  }
  return upstream;
}

export function upstreamTokenExchange(deps: TokenExchangeDeps) {
  return async function tokenExchange(ctx: KoaContextWithOIDC): Promise<void> {
    const params = ctx.oidc.params as Record<string, string | undefined>;
    const client = ctx.oidc.client;
    if (!client) throw new errors.InvalidClient('client authentication failed');
    if (!mayReceiveUpstreamTokens(client))
      throw new errors.UnauthorizedClient('a public client may not exchange tokens');
    if (params['subject_token_type'] !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    if (params['requested_token_type'] !== undefined && params['requested_token_type'] !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`only ${ACCESS_TOKEN_TYPE} can be requested`);
    }
    const audience = params['audience'] ?? params['resource'];
    let subject;
    try {
      subject = await deps.verify(params['subject_token'] ?? '');
    } catch {
      throw new errors.InvalidGrant('subject_token is invalid or has expired');
    }
    // An API this client may act towards on the user's behalf: delegation (delegation-exchange.ts).
    if (audience !== undefined && deps.delegate && delegationAudiences(client).includes(audience))
      return deps.delegate(ctx, { client, subject, audience, scope: params['scope'] });
    if (subject.client_id !== client.clientId)
      throw new errors.InvalidGrant('subject_token was issued to another client');
    const grantId = subject.grant_id;
    const grant = grantId ? await ctx.oidc.provider.Grant.find(grantId) : undefined;
    if (!grant || grant.clientId !== client.clientId || grant.accountId !== subject.sub) {
      throw new errors.InvalidGrant('the grant of subject_token has ended (revoked, signed out or expired)');
    }
    const allowed = client.metadata()['allowed_upstreams'];
    const upstream = await chosenUpstream(
      deps,
      subject,
      audience,
      Array.isArray(allowed) ? (allowed as string[]) : undefined,
    );
    // What the app may name first (invalid_target), then whether the user agreed (invalid_scope).
    if (!grantAllowsUpstreamTokens(grant)) {
      throw new errors.InvalidScope(
        `the user has not allowed this client to receive their upstream tokens; ask for the ${UPSTREAM_TOKEN_SCOPE} scope at sign-in`,
        UPSTREAM_TOKEN_SCOPE,
      );
    }
    let tokens = await upstream.vault.load(subject.sub);
    try {
      if (!tokens) throw new UpstreamLinkGoneError(`no tokens at ${upstream.config.id} are stored for this account`);
      if (tokens.expires_at !== undefined && tokens.expires_at - EXPIRY_MARGIN_MS < Date.now()) {
        tokens = await upstream.vault.refresh(subject.sub, tokens);
      }
    } catch (error) {
      if (error instanceof UpstreamLinkGoneError) {
        throw new errors.InvalidGrant(
          `the user holds no grant at ${upstream.config.id} (never signed in there, or it ended); the user must sign in there again`,
        );
      }
      throw error;
    }
    deps.audit({
      client_id: client.clientId,
      sub: subject.sub,
      upstream: upstream.config.id,
      upstream_scope: tokens.scope,
    });
    ctx.body = {
      access_token: tokens.access_token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      ...(tokens.expires_at === undefined
        ? {}
        : { expires_in: Math.max(0, Math.floor((tokens.expires_at - Date.now()) / 1000)) }),
      ...(tokens.scope === undefined ? {} : { scope: tokens.scope }),
    };
  };
}
