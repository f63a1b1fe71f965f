/**
 * Microsoft Entra ID (v2.0 endpoints) as an upstream: OpenID Connect, with three ways of its own.
 *
 * - The issuer is per tenant. A single-tenant app's discovery names its tenant; the
 *   `organizations` and `common` endpoints publish a template, `…/{tenantid}/v2.0`, and each ID
 *   token carries its user's tenant (`iss` and `tid`). The template is filled from the token's
 *   `tid` before the usual checks (signature by TLS to the token endpoint, `iss`, `aud`, `exp`,
 *   `nonce`), and `iss` must then name that same tenant: a token from one tenant claiming another
 *   fails. Which tenants may sign in is the policy's (`allowed_tenants`, check-identity.ts).
 * - `sub` is pairwise (per app registration): the stable subject is the user's object id in
 *   their tenant, `oid`, with the tenant: `<tid>:<oid>`.
 * - There is no `email_verified`, and a tenant's administrators can set any address on their
 *   users (the "nOAuth" attack). The address in the ID token (the optional `email` claim) is
 *   taken only when Entra vouches for it: `xms_edov: true` (the tenant has verified the address's
 *   domain; an optional claim the app registration can add), or, without that claim, when the
 *   user is a member (not a guest) of the one tenant the upstream is configured for (a GUID: the
 *   operator's own administrators) or a personal account (Microsoft verified it). Otherwise it is not taken at
 *   all: no `email` claim, so no e-mail rule or e-mail-based group can be met with it. Microsoft
 *   Graph's `/me`, which confirms the user at each re-check, vouches for no address, so e-mail
 *   is read from ID tokens only.
 *
 * The re-check calls Graph `GET /v1.0/me` with the user's token (its `id` is the `oid`); Graph
 * answers 401 `InvalidAuthenticationToken` to an expired token, which the vault turns into one
 * refresh (Entra rotates refresh tokens) and one retry.
 */
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { MICROSOFT_CONSUMERS_TENANT } from '../../config/upstreams-parser.ts';
import {
  type CodeExchangeResult,
  groupsOrFailure,
  toTokens,
  type UpstreamClient,
  isRecord,
  profileApiAnswer,
  UpstreamIdentityError,
  UpstreamInvalidGrantError,
  type UpstreamSettings,
  type UpstreamTokens,
} from './upstream-client.ts';

const TIMEOUT_MS = 10_000;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const TEMPLATE = '{tenantid}';

export interface MicrosoftSettings extends UpstreamSettings {
  /** A tenant id (GUID), `organizations`, `common` or `consumers`. */
  tenant: string;
  /** Microsoft Graph (https://graph.microsoft.com, or a national cloud's). */
  graphUrl: string;
  /**
   * Read the user's groups (their object ids, transitive) from Graph's getMemberObjects at each
   * sign-in and re-check: never from the ID token, whose `groups` claim is cut off past 200
   * groups (the "overage" Entra signals with `_claim_names`), which would silently shrink them.
   */
  withGroups?: boolean;
}

/** The issuer discovery must publish for `tenant`: the template for the multi-tenant endpoints. */
function expectedIssuer(authority: string, tenant: string): string {
  if (tenant === 'consumers') return `${authority}/${MICROSOFT_CONSUMERS_TENANT}/v2.0`;
  return `${authority}/${GUID.test(tenant) ? tenant : TEMPLATE}/v2.0`;
}

export function createMicrosoftClient(settings: MicrosoftSettings): UpstreamClient {
  const authority = settings.issuer;
  const oauthClient: oauth.Client = { client_id: settings.clientId };
  const auth = oauth.ClientSecretPost(settings.clientSecret);
  // http:// only on loopback (the config allows no other), as for every upstream.
  const insecure = authority.startsWith('http://');
  const options = () => ({ [oauth.allowInsecureRequests]: insecure, signal: AbortSignal.timeout(TIMEOUT_MS) });
  let pending: Promise<oauth.AuthorizationServer> | undefined;

  async function discover(): Promise<oauth.AuthorizationServer> {
    const response = await oauth.discoveryRequest(new URL(`${authority}/${settings.tenant}/v2.0`), {
      algorithm: 'oidc',
      ...options(),
    });
    return oauth.processDiscoveryResponse(new URL(expectedIssuer(authority, settings.tenant)), response);
  }

  function server(): Promise<oauth.AuthorizationServer> {
    pending ??= discover().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  }

  /**
   * The metadata with the issuer of the tenant that issued this token response's ID token (read
   * before it is checked, only to choose which issuer to check it against), or the metadata as
   * discovered when no ID token came.
   */
  async function serverFor(response: Response): Promise<{ as: oauth.AuthorizationServer; hasIdToken: boolean }> {
    const as = await server();
    const body = (await response
      .clone()
      .json()
      .catch(() => ({}))) as { id_token?: unknown };
    if (typeof body.id_token !== 'string') return { as, hasIdToken: false };
    let tid: unknown;
    try {
      tid = decodeJwt(body.id_token)['tid'];
    } catch {
      throw new Error('Microsoft answered with an ID token that is not a JWT');
    }
    if (typeof tid !== 'string' || !GUID.test(tid)) throw new Error('the Microsoft ID token has no tenant id (tid)');
    return { as: { ...as, issuer: as.issuer.replace(TEMPLATE, tid) }, hasIdToken: true };
  }

  /** The checked ID token's identity: `<tid>:<oid>` as `sub`, and e-mail under the rule above. */
  function identity(claims: oauth.IDToken): Record<string, unknown> {
    const { tid, oid, email, xms_edov: edov, email_verified: verifiedClaim } = claims as Record<string, unknown>;
    if (typeof tid !== 'string' || typeof oid !== 'string' || !GUID.test(oid))
      throw new Error('the Microsoft ID token has no object id (oid) or tenant id (tid)');
    // The tenant in `iss` is the tenant in `tid`: one tenant cannot speak for another.
    if (claims.iss !== `${authority}/${tid}/v2.0`) throw new Error('the Microsoft ID token names two tenants');
    // Without xms_edov: a member (`acct` 0) of the one configured tenant, or a personal account.
    // A guest (`acct` 1) of that tenant brought the address from elsewhere: not vouched for.
    const vouched =
      edov === undefined
        ? (tid === settings.tenant && claims['acct'] !== 1) || tid === MICROSOFT_CONSUMERS_TENANT
        : edov === true || edov === 1 || edov === 'true' || edov === '1';
    const trusted = vouched && verifiedClaim !== false && verifiedClaim !== 'false';
    return {
      sub: `${tid}:${oid}`,
      tid,
      name: claims['name'],
      given_name: claims['given_name'],
      family_name: claims['family_name'],
      ...(typeof email === 'string' && email && trusted ? { email, email_verified: true } : {}),
    };
  }

  async function tokenGrant(
    request: (as: oauth.AuthorizationServer) => Promise<Response>,
    previousRefreshToken?: string,
    expectedNonce?: string,
  ): Promise<{ tokens: UpstreamTokens; claims: Record<string, unknown> | undefined }> {
    const response = await request(await server());
    const { as, hasIdToken } = await serverFor(response);
    try {
      const result =
        expectedNonce === undefined
          ? await oauth.processRefreshTokenResponse(as, oauthClient, response)
          : await oauth.processAuthorizationCodeResponse(as, oauthClient, response, {
              expectedNonce,
              requireIdToken: true,
            });
      const claims = hasIdToken ? oauth.getValidatedIdTokenClaims(result) : undefined;
      return { tokens: toTokens(result, previousRefreshToken), claims: claims ? identity(claims) : undefined };
    } catch (error) {
      // AADSTS70008 and kin: the refresh token expired or was revoked.
      if (error instanceof oauth.ResponseBodyError && error.error === 'invalid_grant' && previousRefreshToken)
        throw new UpstreamInvalidGrantError(`Microsoft refused the refresh token (${error.error})`);
      throw error;
    }
  }

  /** Graph `POST /me/getMemberObjects`: every group the user is in, directly or not (User.Read suffices). */
  async function memberObjects(accessToken: string): Promise<string[]> {
    const response = await fetch(`${settings.graphUrl}/v1.0/me/getMemberObjects`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${accessToken}`,
        accept: 'application/json',
        'content-type': 'application/json',
      },
      body: JSON.stringify({ securityEnabledOnly: false }),
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const answer = await profileApiAnswer(response, 'Microsoft Graph getMemberObjects');
    const ids = isRecord(answer) ? answer['value'] : undefined;
    if (!Array.isArray(ids)) throw new UpstreamIdentityError('Microsoft Graph getMemberObjects answered no list');
    return ids.filter((id): id is string => typeof id === 'string' && GUID.test(id));
  }

  /** Graph's memberships as groups (groupsOrFailure: a failed read keeps the last known ones). */
  const readGroups = (accessToken: string) => groupsOrFailure(() => memberObjects(accessToken));

  return {
    settings,
    async discover() {
      await server();
    },

    async authorizationUrl(parameters) {
      const as = await server();
      if (!as.authorization_endpoint) throw new Error('Microsoft discovery has no authorization endpoint');
      const url = new URL(as.authorization_endpoint);
      url.searchParams.set('client_id', settings.clientId);
      url.searchParams.set('redirect_uri', settings.redirectUri);
      url.searchParams.set('response_type', 'code');
      url.searchParams.set('scope', settings.scopes.join(' '));
      // Entra takes a login_hint and `prompt`; Google's access_type and hd mean nothing there.
      for (const name of ['state', 'nonce', 'code_challenge', 'code_challenge_method', 'login_hint', 'prompt']) {
        const value = parameters[name];
        if (value !== undefined) url.searchParams.set(name, value);
      }
      return url;
    },

    async exchangeCode(callbackUrl, checks): Promise<CodeExchangeResult> {
      const params = oauth.validateAuthResponse(await server(), oauthClient, callbackUrl.searchParams, checks.state);
      const { tokens, claims } = await tokenGrant(
        (as) =>
          oauth.authorizationCodeGrantRequest(
            as,
            oauthClient,
            auth,
            params,
            settings.redirectUri,
            checks.codeVerifier,
            options(),
          ),
        undefined,
        checks.nonce,
      );
      return { tokens, idTokenClaims: claims };
    },

    async userinfo(accessToken, expectedSub) {
      // The tenant is not in Graph's answer: it comes with the subject, from the ID token.
      const [tid, oid] = (expectedSub ?? '').split(':');
      if (!tid || !oid) throw new Error('a Microsoft user is confirmed by tenant and object id');
      const response = await fetch(`${settings.graphUrl}/v1.0/me`, {
        headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const me = await profileApiAnswer(response, 'Microsoft Graph /v1.0/me');
      if (!isRecord(me)) throw new UpstreamIdentityError('Microsoft Graph /me is not a user');
      if (typeof me['id'] !== 'string' || me['id'].toLowerCase() !== oid.toLowerCase())
        throw new UpstreamIdentityError('Microsoft Graph /me is another user');
      const text = (value: unknown) => (typeof value === 'string' && value ? value : undefined);
      const groups = settings.withGroups ? await readGroups(accessToken) : undefined;
      return {
        ...groups,
        sub: expectedSub,
        tid,
        name: text(me['displayName']),
        given_name: text(me['givenName']),
        family_name: text(me['surname']),
      };
    },

    async refresh(refreshToken) {
      const { tokens } = await tokenGrant(
        (as) => oauth.refreshTokenGrantRequest(as, oauthClient, auth, refreshToken, options()),
        refreshToken,
      );
      return tokens;
    },
  };
}
