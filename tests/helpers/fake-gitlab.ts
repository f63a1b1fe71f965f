/**
 * A stand-in for GitLab (gitlab.com or a self-managed instance) as an OpenID Provider: one
 * `node:http` server on 127.0.0.1 whose origin is the issuer, as GitLab's is.
 *
 * What GitLab does (its "GitLab as OpenID Connect identity provider" docs; it is built on
 * Doorkeeper and doorkeeper-openid_connect), kept here:
 * - discovery at `/.well-known/openid-configuration`; `/oauth/authorize`, `/oauth/token`,
 *   `/oauth/userinfo`, `/oauth/revoke`, the JWKS at `/oauth/discovery/keys`; PKCE with `plain`
 *   or `S256`; client_secret_basic and client_secret_post;
 * - `sub` is the numeric user id as a string; `nickname` and `preferred_username` are the
 *   username (which the user can change); `email` is the primary address when the app has the
 *   `email` scope (without it this fake shares none, as for a user without a public address),
 *   with `email_verified`;
 * - groups: the ID token has `groups_direct` (full paths of the groups the user is a direct
 *   member of); userinfo has `groups` (full paths) but not `groups_direct`; userinfo also has
 *   `profile`, `picture` and `website`, and refuses a token without the `openid` scope (403);
 * - ID tokens are short-lived (`exp` two minutes after `iat`, doorkeeper-openid_connect's
 *   default), so their `exp` says nothing about the session;
 * - access tokens expire after 7200 s (`expires_in: 7200`, plus `created_at`); refresh tokens
 *   rotate: a refresh grant returns a new refresh token (and a new ID token) and the old one is
 *   dead;
 * - Doorkeeper's errors: a refused code, verifier or refresh token is 400 `invalid_grant` with
 *   RFC 6749's sentence; bad client credentials 401 `invalid_client`; a bad or expired access
 *   token at userinfo is 401 with `WWW-Authenticate: Bearer realm="Doorkeeper",
 *   error="invalid_token", error_description="…"`; an unknown client or redirect_uri stops at an
 *   error page.
 *
 * The user is already signed in and has authorized the app: the authorization endpoint answers
 * at once with a 302 carrying `code` and `state`.
 */
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

export interface GitLabUser {
  id: number;
  username: string;
  name?: string;
  email?: string;
  /** Whether the primary address is confirmed; true unless set otherwise. */
  emailVerified?: boolean;
  /** Full paths of the groups the user is a direct member of, e.g. 'acme/platform'. */
  groups?: string[];
}

export interface FakeGitLab {
  /** The instance's origin, e.g. http://127.0.0.1:PORT — stands for https://gitlab.com */
  issuer: string;
  signInAs(user: GitLabUser): void;
  /** userinfo answers 401 ("The access token expired") to every access token issued so far. */
  expireAccessTokens(): void;
  /** Refresh grants with any refresh token issued so far fail with invalid_grant. */
  revokeRefreshTokens(): void;
  counters: { authorize: number; token: number; refresh: number; userinfo: number };
  close(): Promise<void>;
}

const INVALID_GRANT =
  'The provided authorization grant is invalid, expired, revoked, does not match the redirection URI used in the authorization request, or was issued to another client.';
const INVALID_CLIENT =
  'Client authentication failed due to unknown client, no client authentication included, or unsupported authentication method.';

export async function startFakeGitLab(options: {
  client: { id: string; secret: string; redirectUri: string };
}): Promise<FakeGitLab> {
  const { client } = options;
  const key = await createSigningKey();
  const codes = new Map<string, PendingCode<GitLabUser>>();
  const accessTokens = new Map<string, { user: GitLabUser; scope: string; expired: boolean; revoked: boolean }>();
  const refreshTokens = new Map<string, { user: GitLabUser; scope: string; authTime: number; dead: boolean }>();
  const counters = { authorize: 0, token: 0, refresh: 0, userinfo: 0 };
  let current: GitLabUser | undefined;
  let issuer = '';

  const hasScope = (scope: string, wanted: string) => scope.split(' ').includes(wanted);

  const issueTokens = async (user: GitLabUser, scope: string, authTime: number, nonce: string | null) => {
    const accessToken = randomToken(32);
    const refreshToken = randomToken(32);
    accessTokens.set(accessToken, { user, scope, expired: false, revoked: false });
    refreshTokens.set(refreshToken, { user, scope, authTime, dead: false });
    const createdAt = nowSeconds();
    const body: Record<string, string | number> = {
      access_token: accessToken,
      token_type: 'Bearer',
      expires_in: 7200,
      refresh_token: refreshToken,
      scope,
      created_at: createdAt,
    };
    if (hasScope(scope, 'openid')) {
      const claims: Record<string, unknown> = {
        iss: issuer,
        sub: String(user.id),
        aud: client.id,
        exp: createdAt + 120,
        iat: createdAt,
        auth_time: authTime,
        name: user.name ?? user.username,
        nickname: user.username,
        preferred_username: user.username,
        website: '',
        profile: `${issuer}/${user.username}`,
        picture: `${issuer}/uploads/-/system/user/avatar/${user.id}/avatar.png`,
        groups_direct: user.groups ?? [],
      };
      if (nonce !== null) claims['nonce'] = nonce;
      if (hasScope(scope, 'email') && user.email !== undefined) {
        claims['email'] = user.email;
        claims['email_verified'] = user.emailVerified ?? true;
      }
      body['id_token'] = await signJwt(key, claims);
    }
    return body;
  };

  const token = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    counters.token += 1;
    const params = await readParams(req, url);
    const creds = clientCredentials(req, params);
    if (creds.id !== client.id || !sameSecret(creds.secret, client.secret))
      return sendJson(res, 401, { error: 'invalid_client', error_description: INVALID_CLIENT });
    const grantType = params.get('grant_type');
    if (grantType === 'refresh_token') {
      counters.refresh += 1;
      const held = refreshTokens.get(params.get('refresh_token') ?? '');
      if (!held || held.dead) return sendJson(res, 400, { error: 'invalid_grant', error_description: INVALID_GRANT });
      held.dead = true; // rotates: the old refresh token is spent
      return sendJson(res, 200, await issueTokens(held.user, held.scope, held.authTime, null));
    }
    if (grantType !== 'authorization_code')
      return sendJson(res, 400, {
        error: 'unsupported_grant_type',
        error_description: 'The authorization grant type is not supported by the authorization server.',
      });
    const code = params.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    if (
      !pending ||
      params.get('redirect_uri') !== pending.redirectUri ||
      (pending.challenge &&
        !pkceMatches(pending.challenge.value, pending.challenge.method, params.get('code_verifier')))
    )
      return sendJson(res, 400, { error: 'invalid_grant', error_description: INVALID_GRANT });
    sendJson(res, 200, await issueTokens(pending.user, pending.scope, pending.authTime, pending.nonce));
  };

  /** Doorkeeper's refusal of an access token: the challenge says why, the body repeats it. */
  const refuseToken = (res: ServerResponse, status: number, error: string, description: string) =>
    sendJson(
      res,
      status,
      { error, error_description: description },
      { 'www-authenticate': `Bearer realm="Doorkeeper", error="${error}", error_description="${description}"` },
    );

  const userinfo = (req: IncomingMessage, res: ServerResponse) => {
    counters.userinfo += 1;
    const held = accessTokens.get(bearerToken(req) ?? '');
    if (!held) return refuseToken(res, 401, 'invalid_token', 'The access token is invalid');
    if (held.revoked) return refuseToken(res, 401, 'invalid_token', 'The access token was revoked');
    if (held.expired) return refuseToken(res, 401, 'invalid_token', 'The access token expired');
    if (!hasScope(held.scope, 'openid'))
      return refuseToken(
        res,
        403,
        'insufficient_scope',
        'The request requires higher privileges than provided by the access token.',
      );
    const { user } = held;
    const info: Record<string, unknown> = {
      sub: String(user.id),
      name: user.name ?? user.username,
      nickname: user.username,
      preferred_username: user.username,
      website: '',
      profile: `${issuer}/${user.username}`,
      picture: `${issuer}/uploads/-/system/user/avatar/${user.id}/avatar.png`,
      groups: user.groups ?? [],
    };
    if (hasScope(held.scope, 'email') && user.email !== undefined) {
      info['email'] = user.email;
      info['email_verified'] = user.emailVerified ?? true;
    }
    sendJson(res, 200, info);
  };

  const gitlab = await startServer('fake-gitlab', async (req, res, url) => {
    if (req.method === 'GET' && url.pathname === '/.well-known/openid-configuration')
      return sendJson(res, 200, {
        issuer,
        authorization_endpoint: `${issuer}/oauth/authorize`,
        token_endpoint: `${issuer}/oauth/token`,
        revocation_endpoint: `${issuer}/oauth/revoke`,
        userinfo_endpoint: `${issuer}/oauth/userinfo`,
        jwks_uri: `${issuer}/oauth/discovery/keys`,
        scopes_supported: ['api', 'read_api', 'read_user', 'read_repository', 'openid', 'profile', 'email'],
        response_types_supported: ['code'],
        response_modes_supported: ['query', 'fragment', 'form_post'],
        grant_types_supported: ['authorization_code', 'password', 'client_credentials', 'device_code', 'refresh_token'],
        token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        claim_types_supported: ['normal'],
        claims_supported: [
          'iss',
          'sub',
          'aud',
          'exp',
          'iat',
          'name',
          'nickname',
          'preferred_username',
          'email',
          'email_verified',
          'website',
          'profile',
          'picture',
          'groups',
          'groups_direct',
        ],
        code_challenge_methods_supported: ['plain', 'S256'],
      });
    if (req.method === 'GET' && url.pathname === '/oauth/discovery/keys')
      return sendJson(res, 200, { keys: [key.publicJwk] });
    if (req.method === 'GET' && url.pathname === '/oauth/authorize') {
      counters.authorize += 1;
      const q = url.searchParams;
      if (q.get('client_id') !== client.id) return sendHtmlError(res, 400, 'An error has occurred', INVALID_CLIENT);
      if (q.get('redirect_uri') !== client.redirectUri)
        return sendHtmlError(res, 400, 'An error has occurred', 'The redirect URI included is not valid.');
      if (!current) throw new Error('fake GitLab: signInAs() first');
      const state = q.get('state');
      if (q.get('response_type') !== 'code')
        return redirectBack(res, client.redirectUri, {
          error: 'unsupported_response_type',
          error_description: 'The authorization server does not support this response type.',
          state,
        });
      const code = randomToken(32);
      codes.set(code, {
        user: current,
        redirectUri: client.redirectUri,
        scope: q.get('scope') ?? 'read_user',
        nonce: q.get('nonce'),
        challenge: challengeOf(url),
        authTime: nowSeconds(),
      });
      return redirectBack(res, client.redirectUri, { code, state });
    }
    if (req.method === 'POST' && url.pathname === '/oauth/token') return token(req, res, url);
    if ((req.method === 'GET' || req.method === 'POST') && url.pathname === '/oauth/userinfo')
      return userinfo(req, res);
    if (req.method === 'POST' && url.pathname === '/oauth/revoke') {
      // RFC 7009: 200 whatever the token; revoking an access or refresh token ends it.
      const params = await readParams(req, url);
      const presented = params.get('token') ?? '';
      const access = accessTokens.get(presented);
      if (access) access.revoked = true;
      const refresh = refreshTokens.get(presented);
      if (refresh) refresh.dead = true;
      return sendJson(res, 200, {});
    }
    sendJson(res, 404, { message: '404 Not Found' });
  });
  issuer = gitlab.url;

  return {
    issuer,
    counters,
    signInAs(user) {
      current = user;
    },
    expireAccessTokens() {
      for (const held of accessTokens.values()) held.expired = true;
    },
    revokeRefreshTokens() {
      for (const held of refreshTokens.values()) held.dead = true;
    },
    close: () => stopServer(gitlab.server),
  };
}
