/**
 * A stand-in for Microsoft Entra ID's v2.0 endpoints (login.microsoftonline.com) and the two
 * Microsoft Graph resources a relying party reads (graph.microsoft.com): two `node:http` servers
 * on 127.0.0.1, since the real hosts are unreachable from these machines.
 *
 * What Entra ID does that a generic OpenID Connect client trips on, kept here:
 * - every path starts with a tenant: a GUID, `organizations`, `common` or `consumers`. The
 *   discovery document of `organizations` and `common` names the issuer with the LITERAL text
 *   `{tenantid}` (`https://login.microsoftonline.com/{tenantid}/v2.0`), and an ID token's `iss`
 *   is always the user's own tenant (`…/<tid>/v2.0`, `…/9188040d-…/v2.0` for personal
 *   accounts), so `iss` never equals the discovered issuer of a multi-tenant authority;
 * - discovery does not publish `code_challenge_methods_supported`, though PKCE (S256 or plain)
 *   is supported and checked (AADSTS501481); it publishes client_secret_post, private_key_jwt and
 *   client_secret_basic; the JWKS keys carry no `alg` and an `issuer` template of their own;
 * - a user from another tenant than the authority's GUID (or a personal account at
 *   `organizations`, or a work account at `consumers`) comes back with `error=invalid_request`
 *   and an AADSTS50020 description;
 * - an unknown client or redirect_uri never redirects: the browser sees an error page
 *   (AADSTS700016, AADSTS50011);
 * - the ID token has `ver: "2.0"`, a pairwise `sub` (per app, not the `oid`), `oid`, `tid`,
 *   `preferred_username` (the UPN; mutable and not an address), and `email` only when the user
 *   has one — and never `email_verified`; `xms_edov` only when set. The refresh grant returns a
 *   new ID token (without `nonce`);
 * - the token endpoint insists on `redirect_uri` in the code grant (AADSTS900144), refuses a code
 *   redeemed twice (AADSTS54005), answers errors as JSON with `error_codes`, `timestamp`,
 *   `trace_id`, `correlation_id` and `error_uri`, a wrong secret with 401 (AADSTS7000215);
 *   `expires_in` and `ext_expires_in` 3599; a refresh token only when `offline_access` was asked
 *   for, and each refresh returns a new one (the old one is dead; this fake is stricter than Entra,
 *   which lets old ones live, so a client that keeps using an old one is caught);
 * - Graph answers an expired or unknown token with 401 `InvalidAuthenticationToken` and a
 *   `WWW-Authenticate` naming the authorization_uri and Graph's client_id; `/v1.0/me` has `mail`
 *   (null without a mailbox) and `userPrincipalName`; `/oidc/userinfo` has only `sub`, `name`,
 *   `family_name`, `given_name`, `picture` and `email` (when there is one).
 *
 * The user is already signed in and has consented: the authorization endpoint answers at once
 * with a 302 carrying `code` and `state` only, for whoever `signInAs` named.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  bearerToken,
  challengeOf,
  clientCredentials,
  createSigningKey,
  nowSeconds,
  type PendingCode,
  pkceMatches,
  randomToken,
  readParams,
  redirectBack,
  sameSecret,
  sendHtmlError,
  sendJson,
  signJwt,
  startServer,
  stopServer,
} from './fake-oidc-core.ts';

/** The tenant of every personal Microsoft account (MSA). */
export const CONSUMERS_TENANT = '9188040d-6c67-4c5b-b112-36a304b66dad';

export interface MicrosoftUser {
  /** The object id: stable across every app, within its tenant. */
  oid: string;
  /** The user's home tenant (CONSUMERS_TENANT for a personal account). */
  tid: string;
  name?: string;
  given_name?: string;
  family_name?: string;
  /** The UPN (or the MSA sign-in name): mutable, not a verified address. */
  preferred_username: string;
  /** The optional `email` claim: absent unless set. */
  email?: string;
  /** Whether the email's domain is verified by the tenant: present only when set. */
  xms_edov?: boolean;
  /** Object ids of the groups (and directory roles) the user is in, for Graph's getMemberObjects. */
  groups?: string[];
}

export interface FakeMicrosoft {
  /** e.g. http://127.0.0.1:PORT — stands for https://login.microsoftonline.com */
  authority: string;
  /** e.g. http://127.0.0.1:PORT2 — stands for https://graph.microsoft.com */
  graphUrl: string;
  signInAs(user: MicrosoftUser): void;
  /** Graph answers 401 to every access token issued so far. */
  expireAccessTokens(): void;
  /** Refresh grants with any refresh token issued so far fail with invalid_grant (AADSTS70008). */
  revokeRefreshTokens(): void;
  counters: { authorize: number; token: number; refresh: number; me: number; userinfo: number };
  /** When true, Graph throttles getMemberObjects (429 TooManyRequests with a Retry-After). */
  throttleMemberObjects: boolean;
  close(): Promise<void>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ALIASES = new Set(['organizations', 'common', 'consumers']);

/** The pairwise subject: differs per app and from the oid, as Entra's `sub` does. */
const pairwiseSub = (oid: string, clientId: string) =>
  createHash('sha256').update(`${oid}|${clientId}`).digest('base64url');

/** Entra's timestamp format in error bodies: `2024-05-01 12:00:00Z`. */
const entraTimestamp = () =>
  new Date()
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');

export async function startFakeMicrosoft(options: {
  client: { id: string; secret: string; redirectUri: string };
}): Promise<FakeMicrosoft> {
  const { client } = options;
  const key = await createSigningKey();
  const codes = new Map<string, PendingCode<MicrosoftUser>>();
  const redeemed = new Set<string>();
  const accessTokens = new Map<string, { user: MicrosoftUser; expired: boolean }>();
  const refreshTokens = new Map<string, { user: MicrosoftUser; scope: string; dead: boolean }>();
  const counters = { authorize: 0, token: 0, refresh: 0, me: 0, userinfo: 0 };
  let current: MicrosoftUser | undefined;
  let authority = '';
  let graphUrl = '';

  const issuerFor = (tenant: string) => {
    if (tenant === 'consumers') return `${authority}/${CONSUMERS_TENANT}/v2.0`;
    if (GUID.test(tenant)) return `${authority}/${tenant}/v2.0`;
    return `${authority}/{tenantid}/v2.0`;
  };
  const discovery = (tenant: string) => ({
    token_endpoint: `${authority}/${tenant}/oauth2/v2.0/token`,
    token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
    jwks_uri: `${authority}/${tenant}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
    scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
    issuer: issuerFor(tenant),
    request_uri_parameter_supported: false,
    userinfo_endpoint: `${graphUrl}/oidc/userinfo`,
    authorization_endpoint: `${authority}/${tenant}/oauth2/v2.0/authorize`,
    device_authorization_endpoint: `${authority}/${tenant}/oauth2/v2.0/devicecode`,
    http_logout_supported: true,
    frontchannel_logout_supported: true,
    end_session_endpoint: `${authority}/${tenant}/oauth2/v2.0/logout`,
    claims_supported: [
      'sub',
      'iss',
      'cloud_instance_name',
      'cloud_instance_host_name',
      'cloud_graph_host_name',
      'msgraph_host',
      'aud',
      'exp',
      'iat',
      'auth_time',
      'acr',
      'nonce',
      'preferred_username',
      'name',
      'tid',
      'ver',
      'at_hash',
      'c_hash',
      'email',
    ],
    kerberos_endpoint: `${authority}/${tenant}/kerberos`,
    tenant_region_scope: GUID.test(tenant) ? 'EU' : null,
    cloud_instance_name: 'microsoftonline.com',
    cloud_graph_host_name: 'graph.windows.net',
    msgraph_host: 'graph.microsoft.com',
    rbac_url: 'https://pas.windows.net',
  });

  /** Entra's token-endpoint error body; the description carries the trace and correlation ids. */
  const tokenError = (res: ServerResponse, status: number, error: string, code: number, text: string) => {
    const traceId = randomUUID();
    const correlationId = randomUUID();
    const timestamp = entraTimestamp();
    sendJson(res, status, {
      error,
      error_description: `AADSTS${code}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [code],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    });
  };

  /** Whether the authority's tenant segment lets this user in. */
  const tenantAdmits = (tenant: string, user: MicrosoftUser) => {
    if (tenant === 'common') return true;
    if (tenant === 'organizations') return user.tid.toLowerCase() !== CONSUMERS_TENANT;
    if (tenant === 'consumers') return user.tid.toLowerCase() === CONSUMERS_TENANT;
    return tenant.toLowerCase() === user.tid.toLowerCase();
  };

  const issueTokens = async (user: MicrosoftUser, scope: string, nonce: string | null) => {
    const scopes = scope.split(' ');
    const accessToken = `EwA${randomToken(48)}`;
    accessTokens.set(accessToken, { user, expired: false });
    const granted = ['openid', 'profile', 'email', 'User.Read'];
    if (scopes.includes('offline_access')) granted.push('offline_access');
    const body: Record<string, string | number> = {
      token_type: 'Bearer',
      scope: granted.join(' '),
      expires_in: 3599,
      ext_expires_in: 3599,
      access_token: accessToken,
    };
    if (scopes.includes('offline_access')) {
      const refreshToken = `M.C5${randomToken(64)}`;
      refreshTokens.set(refreshToken, { user, scope, dead: false });
      body['refresh_token'] = refreshToken;
    }
    if (scopes.includes('openid')) {
      const iat = nowSeconds();
      const claims: Record<string, unknown> = {
        ver: '2.0',
        iss: `${authority}/${user.tid}/v2.0`,
        sub: pairwiseSub(user.oid, client.id),
        aud: client.id,
        exp: iat + 3600,
        iat,
        nbf: iat,
        name: user.name,
        preferred_username: user.preferred_username,
        oid: user.oid,
        tid: user.tid,
        aio: randomToken(60),
        uti: randomToken(16),
        rh: `0.${randomToken(40)}.`,
      };
      if (nonce !== null) claims['nonce'] = nonce;
      if (user.email !== undefined) claims['email'] = user.email;
      if (user.xms_edov !== undefined) claims['xms_edov'] = user.xms_edov;
      body['id_token'] = await signJwt(key, claims);
    }
    return body;
  };

  const authorize = (res: ServerResponse, url: URL, tenant: string) => {
    counters.authorize += 1;
    const q = url.searchParams;
    if (q.get('client_id') !== client.id)
      return sendHtmlError(
        res,
        400,
        'Sign in to your account',
        `AADSTS700016: Application with identifier '${q.get('client_id') ?? ''}' was not found in the directory '${tenant}'.`,
      );
    if (q.get('redirect_uri') !== client.redirectUri)
      return sendHtmlError(
        res,
        400,
        'Sign in to your account',
        `AADSTS50011: The redirect URI '${q.get('redirect_uri') ?? ''}' specified in the request does not match the redirect URIs configured for the application '${client.id}'.`,
      );
    if (!current) throw new Error('fake Microsoft: signInAs() first');
    const user = current;
    const state = q.get('state');
    if (q.get('response_type') !== 'code')
      return redirectBack(res, client.redirectUri, {
        error: 'unsupported_response_type',
        error_description: `AADSTS700054: response_type '${q.get('response_type') ?? ''}' is not enabled for the application.`,
        state,
      });
    if (!tenantAdmits(tenant, user)) {
      const idp = user.tid.toLowerCase() === CONSUMERS_TENANT ? 'live.com' : `https://sts.windows.net/${user.tid}/`;
      return redirectBack(res, client.redirectUri, {
        error: 'invalid_request',
        error_description: `AADSTS50020: User account '${user.preferred_username}' from identity provider '${idp}' does not exist in tenant '${tenant}' and cannot access the application '${client.id}' in that tenant. The account needs to be added as an external user in the tenant first.`,
        state,
      });
    }
    const code = `1.A${randomToken(96)}`;
    codes.set(code, {
      user,
      redirectUri: client.redirectUri,
      scope: q.get('scope') ?? '',
      nonce: q.get('nonce'),
      challenge: challengeOf(url),
      authTime: nowSeconds(),
    });
    redirectBack(res, client.redirectUri, { code, state });
  };

  const token = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    counters.token += 1;
    const params = await readParams(req, url);
    const creds = clientCredentials(req, params);
    if (creds.id !== client.id)
      return tokenError(
        res,
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${creds.id ?? ''}' was not found in the directory.`,
      );
    if (creds.method === 'none')
      return tokenError(
        res,
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    if (!sameSecret(creds.secret, client.secret))
      return tokenError(
        res,
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${client.id}'.`,
      );
    const grantType = params.get('grant_type');
    if (grantType === 'refresh_token') {
      counters.refresh += 1;
      const presented = params.get('refresh_token') ?? '';
      const held = refreshTokens.get(presented);
      if (!held || held.dead)
        return tokenError(
          res,
          400,
          'invalid_grant',
          70008,
          'The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.',
        );
      held.dead = true; // rotates: the old refresh token is spent
      return sendJson(res, 200, await issueTokens(held.user, held.scope, null));
    }
    if (grantType !== 'authorization_code')
      return tokenError(
        res,
        400,
        'unsupported_grant_type',
        70003,
        `The app requested an unsupported grant type '${grantType ?? ''}'.`,
      );
    const code = params.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    if (!pending) {
      if (redeemed.has(code))
        return tokenError(
          res,
          400,
          'invalid_grant',
          54005,
          'OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.',
        );
      return tokenError(
        res,
        400,
        'invalid_grant',
        70000,
        "The provided value for the 'code' parameter is not valid. The code has expired or is malformed.",
      );
    }
    redeemed.add(code);
    const redirectUri = params.get('redirect_uri');
    if (redirectUri === null)
      return tokenError(
        res,
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'redirect_uri'.",
      );
    if (redirectUri !== pending.redirectUri)
      return tokenError(
        res,
        400,
        'invalid_grant',
        500112,
        `The reply address '${redirectUri}' does not match the reply address '${pending.redirectUri}' provided when requesting Authorization code.`,
      );
    if (
      pending.challenge &&
      !pkceMatches(pending.challenge.value, pending.challenge.method, params.get('code_verifier'))
    )
      return tokenError(
        res,
        400,
        'invalid_grant',
        501481,
        'The Code_Verifier does not match the code_challenge supplied in the authorization request.',
      );
    sendJson(res, 200, await issueTokens(pending.user, pending.scope, pending.nonce));
  };

  const login = await startServer('fake-microsoft-login', async (req, res, url) => {
    const match = /^\/([^/]+)(\/.*)$/.exec(url.pathname);
    const tenant = match?.[1] ?? '';
    const rest = match?.[2] ?? '';
    if (!GUID.test(tenant) && !ALIASES.has(tenant)) {
      return sendJson(res, 400, {
        error: 'invalid_tenant',
        error_description: `AADSTS90002: Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`,
        error_codes: [90002],
      });
    }
    if (req.method === 'GET' && rest === '/v2.0/.well-known/openid-configuration')
      return sendJson(res, 200, discovery(tenant));
    if (req.method === 'GET' && rest === '/discovery/v2.0/keys') {
      // Entra's keys name no `alg`; each carries the issuer template it signs for.
      const { alg: _alg, ...jwk } = key.publicJwk;
      return sendJson(res, 200, { keys: [{ ...jwk, x5t: key.kid, issuer: issuerFor(tenant) }] });
    }
    if (req.method === 'GET' && rest === '/oauth2/v2.0/authorize') return authorize(res, url, tenant);
    if (req.method === 'POST' && rest === '/oauth2/v2.0/token') return token(req, res, url);
    if (req.method === 'GET' && rest === '/oauth2/v2.0/logout') {
      const back = url.searchParams.get('post_logout_redirect_uri');
      if (back !== null) {
        res.writeHead(302, { location: back });
        res.end();
        return;
      }
      return sendHtmlError(res, 200, 'Sign out', 'You signed out of your account.');
    }
    sendJson(res, 404, { error: 'not_found' });
  });
  authority = login.url;

  /** Graph's 401: the body and challenge Graph sends for any token it will not take. */
  const graphUnauthorized = (res: ServerResponse, message: string) =>
    sendJson(
      res,
      401,
      {
        error: {
          code: 'InvalidAuthenticationToken',
          message,
          innerError: {
            date: new Date().toISOString().replace(/\.\d+Z$/, ''),
            'request-id': randomUUID(),
            'client-request-id': randomUUID(),
          },
        },
      },
      {
        'www-authenticate':
          'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"',
      },
    );

  const graph = await startServer('fake-microsoft-graph', (req, res, url) => {
    const isMe = req.method === 'GET' && url.pathname === '/v1.0/me';
    const isUserinfo = (req.method === 'GET' || req.method === 'POST') && url.pathname === '/oidc/userinfo';
    // POST /me/getMemberObjects: every group id, transitively; the body's securityEnabledOnly is required.
    const isMemberObjects = req.method === 'POST' && url.pathname === '/v1.0/me/getMemberObjects';
    if (isMemberObjects) {
      const presented = bearerToken(req);
      const held = presented === undefined ? undefined : accessTokens.get(presented);
      if (!held || held.expired) return graphUnauthorized(res, 'Access token has expired or is not yet valid.');
      if (fake.throttleMemberObjects)
        return sendJson(
          res,
          429,
          { error: { code: 'TooManyRequests', message: 'Too many requests.', innerError: { date: new Date() } } },
          { 'retry-after': '10' },
        );
      return sendJson(res, 200, {
        '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#Collection(Edm.String)',
        value: held.user.groups ?? [],
      });
    }
    if (!isMe && !isUserinfo)
      return sendJson(res, 404, {
        error: { code: 'BadRequest', message: `Resource not found for the segment '${url.pathname}'.` },
      });
    if (isMe) counters.me += 1;
    else counters.userinfo += 1;
    const presented = bearerToken(req);
    if (presented === undefined) return graphUnauthorized(res, 'Access token is empty.');
    const held = accessTokens.get(presented);
    if (!held || held.expired) return graphUnauthorized(res, 'Access token has expired or is not yet valid.');
    const { user } = held;
    if (isMe)
      return sendJson(res, 200, {
        '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users/$entity',
        businessPhones: [],
        displayName: user.name ?? null,
        givenName: user.given_name ?? null,
        jobTitle: null,
        mail: user.email ?? null,
        mobilePhone: null,
        officeLocation: null,
        preferredLanguage: null,
        surname: user.family_name ?? null,
        userPrincipalName: user.preferred_username,
        id: user.oid,
      });
    const info: Record<string, unknown> = {
      sub: pairwiseSub(user.oid, client.id),
      name: user.name,
      family_name: user.family_name,
      given_name: user.given_name,
      picture: 'https://graph.microsoft.com/v1.0/me/photo/$value',
    };
    if (user.email !== undefined) info['email'] = user.email;
    sendJson(res, 200, info);
  });
  graphUrl = graph.url;

  const fake: FakeMicrosoft = {
    authority,
    graphUrl,
    counters,
    throttleMemberObjects: false,
    signInAs(user) {
      current = user;
    },
    expireAccessTokens() {
      for (const held of accessTokens.values()) held.expired = true;
    },
    revokeRefreshTokens() {
      for (const held of refreshTokens.values()) held.dead = true;
    },
    async close() {
      await Promise.all([stopServer(login.server), stopServer(graph.server)]);
    },
  };
  return fake;
}
