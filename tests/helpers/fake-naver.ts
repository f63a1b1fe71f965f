/**
 * A stand-in for Naver Login (네이버 로그인), an OAuth 2.0 provider without OpenID Connect:
 * nid.naver.com (authorization and token endpoints) and openapi.naver.com (the profile API) as
 * two `node:http` servers on 127.0.0.1, since the real hosts are unreachable from these machines.
 *
 * What Naver does (its developer docs and what clients meet), kept here:
 * - no discovery, no JWKS, no id_token, no userinfo endpoint: the identity is the profile API,
 *   `GET /v1/nid/me` with a Bearer token, answering an envelope
 *   `{ resultcode: "00", message: "success", response: { id, … } }` with each field only when
 *   the user has it and agreed to share it; `id` is app-scoped (the same person has another id
 *   in another app);
 * - the token endpoint `/oauth2.0/token` takes its parameters as a GET query or a POST form
 *   (client_id and client_secret as parameters, and the `state` of the authorization request);
 *   it answers `expires_in` as a STRING (`"3600"`), `token_type: "bearer"`;
 * - its errors come with HTTP 200 and `{ error, error_description }`: a used or unknown code is
 *   `invalid_request` "no valid data in session", wrong client credentials `invalid_request`
 *   "wrong client id / client secret pair", a refresh token that is no longer valid
 *   `invalid_grant` "Invalid refresh token" (this last wording is this fake's guess);
 * - a refresh grant returns a new access token without a new refresh token (the old one lives
 *   on); `grant_type=delete` revokes an access token;
 * - PKCE parameters are ignored (Naver does not check them), as are `scope` and `nonce`;
 * - the profile API answers an unknown or expired token with HTTP 401 and
 *   `{ resultcode: "024", message: "Authentication failed / 인증에 실패했습니다." }`, and a
 *   request without an Authorization header with 401 resultcode "028".
 *
 * Naver documents client credentials as parameters only; this fake also takes
 * client_secret_basic, as its callers were told to expect. When the token request carries a
 * `state`, it must be the authorization request's. The user is already signed in and has agreed:
 * the authorization endpoint answers at once with a 302 carrying `code` and `state`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  bearerToken,
  clientCredentials,
  randomToken,
  readParams,
  redirectBack,
  sameSecret,
  sendHtmlError,
  sendJson,
  startServer,
  stopServer,
} from './fake-oidc-core.ts';

export interface NaverUser {
  /** Naver's app-scoped id, e.g. 'x3k…' (a base64-like string for apps since 2021). */
  id: string;
  email?: string;
  name?: string;
  nickname?: string;
  profileImage?: string;
}

export interface FakeNaver {
  /** Stands for https://nid.naver.com */
  nidUrl: string;
  /** Stands for https://openapi.naver.com (a second server). */
  apiUrl: string;
  signInAs(user: NaverUser): void;
  /** The profile API answers 401 (resultcode 024) to every access token issued so far. */
  expireAccessTokens(): void;
  /** Refresh grants with any refresh token issued so far fail. */
  revokeRefreshTokens(): void;
  counters: { authorize: number; token: number; refresh: number; me: number };
  close(): Promise<void>;
}

export async function startFakeNaver(options: {
  client: { id: string; secret: string; redirectUri: string };
}): Promise<FakeNaver> {
  const { client } = options;
  const codes = new Map<string, { user: NaverUser; state: string | null }>();
  const accessTokens = new Map<string, { user: NaverUser; expired: boolean }>();
  const refreshTokens = new Map<string, { user: NaverUser; dead: boolean }>();
  const counters = { authorize: 0, token: 0, refresh: 0, me: 0 };
  let current: NaverUser | undefined;

  /** Naver's token endpoint reports every error with HTTP 200. */
  const naverError = (res: ServerResponse, error: string, description: string) =>
    sendJson(res, 200, { error, error_description: description });

  const newAccessToken = (user: NaverUser) => {
    const accessToken = `AAAA${randomToken(90)}`;
    accessTokens.set(accessToken, { user, expired: false });
    return accessToken;
  };

  const token = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    counters.token += 1;
    const params = await readParams(req, url);
    const creds = clientCredentials(req, params);
    if (creds.id !== client.id || !sameSecret(creds.secret, client.secret))
      return naverError(res, 'invalid_request', 'wrong client id / client secret pair');
    const grantType = params.get('grant_type');
    if (grantType === 'refresh_token') {
      counters.refresh += 1;
      const held = refreshTokens.get(params.get('refresh_token') ?? '');
      if (!held || held.dead) return naverError(res, 'invalid_grant', 'Invalid refresh token');
      // No new refresh token: the one the client holds stays valid.
      return sendJson(res, 200, { access_token: newAccessToken(held.user), token_type: 'bearer', expires_in: '3600' });
    }
    if (grantType === 'delete') {
      const presented = params.get('access_token') ?? '';
      const held = accessTokens.get(presented);
      if (held) held.expired = true;
      return sendJson(res, 200, { access_token: presented, result: 'success' });
    }
    if (grantType !== 'authorization_code')
      return naverError(res, 'unsupported_grant_type', 'grant_type is not supported');
    const code = params.get('code') ?? '';
    const pending = codes.get(code);
    codes.delete(code);
    const state = params.get('state');
    if (!pending || (state !== null && state !== pending.state))
      return naverError(res, 'invalid_request', 'no valid data in session');
    const refreshToken = randomToken(60);
    refreshTokens.set(refreshToken, { user: pending.user, dead: false });
    sendJson(res, 200, {
      access_token: newAccessToken(pending.user),
      refresh_token: refreshToken,
      token_type: 'bearer',
      expires_in: '3600',
    });
  };

  const nid = await startServer('fake-naver-nid', async (req, res, url) => {
    if ((req.method === 'GET' || req.method === 'POST') && url.pathname === '/oauth2.0/authorize') {
      counters.authorize += 1;
      const q = url.searchParams;
      if (q.get('client_id') !== client.id || q.get('redirect_uri') !== client.redirectUri)
        return sendHtmlError(
          res,
          400,
          '네이버 로그인',
          '페이지를 찾을 수 없습니다. (client_id or redirect_uri does not match the registered application)',
        );
      if (!current) throw new Error('fake Naver: signInAs() first');
      const state = q.get('state');
      if (q.get('response_type') !== 'code')
        return redirectBack(res, client.redirectUri, {
          state,
          error: 'unsupported_response_type',
          error_description: 'response_type is not supported',
        });
      const code = randomToken(12);
      codes.set(code, { user: current, state });
      return redirectBack(res, client.redirectUri, { code, state });
    }
    if ((req.method === 'GET' || req.method === 'POST') && url.pathname === '/oauth2.0/token')
      return token(req, res, url);
    sendHtmlError(res, 404, 'Not Found', url.pathname);
  });

  const openapi = await startServer('fake-naver-openapi', (req, res, url) => {
    if ((req.method === 'GET' || req.method === 'POST') && url.pathname === '/v1/nid/me') {
      counters.me += 1;
      const presented = bearerToken(req);
      if (presented === undefined)
        return sendJson(res, 401, {
          resultcode: '028',
          message: 'Authentication header not exists / OAuth 인증 헤더(header)가 없습니다.',
        });
      const held = accessTokens.get(presented);
      if (!held || held.expired)
        return sendJson(res, 401, { resultcode: '024', message: 'Authentication failed / 인증에 실패했습니다.' });
      const { user } = held;
      const response: Record<string, string> = { id: user.id };
      if (user.nickname !== undefined) response['nickname'] = user.nickname;
      if (user.profileImage !== undefined) response['profile_image'] = user.profileImage;
      if (user.email !== undefined) response['email'] = user.email;
      if (user.name !== undefined) response['name'] = user.name;
      return sendJson(res, 200, { resultcode: '00', message: 'success', response });
    }
    sendJson(res, 404, { errorMessage: 'Not Found', errorCode: '404' });
  });

  return {
    nidUrl: nid.url,
    apiUrl: openapi.url,
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
    async close() {
      await Promise.all([stopServer(nid.server), stopServer(openapi.server)]);
    },
  };
}
